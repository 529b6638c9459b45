"""What a fine-tuning run is: every knob, with help text, presets and `--set key=value` parsing.

The config is saved as the run's config.json and read back by the worker, so
a run can be repeated or resumed from its folder alone. Unknown names fail
(`extra="forbid"`) with the closest known names suggested.

Trade-off: one flat model instead of nested sections (LoRA, optimizer, early
stopping). Flat names are what `--set` and the page's "Advanced" form use, and
a typo can be matched against one list of names.
"""

from __future__ import annotations

import difflib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import LadderError


class FinetuneError(LadderError):
    """A run cannot be configured or started; the message says what to change."""


class FinetuneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # -- what to train on
    base_model: str = Field(description="Registry id of the local model to fine-tune.")
    dataset: str = Field(description="Dataset name; its train/validation/test split is used.")
    dataset_version: int | None = Field(default=None, description="Version number; latest when unset.")
    dataset_hash: str | None = Field(default=None, description="Filled in at start: the version's content hash.")
    train_split: str = Field(default="train", description="Split the model learns from.")
    eval_split: str = Field(default="validation", description="Split for validation loss, score and early stopping.")
    test_split: str = Field(default="test", description="Split for the before/after comparison.")
    variant: dict | None = Field(default=None, description="The prompt variant (as a dict) used for training and before/after; unset: a zero-shot default that includes the dataset's context column when it has one.")
    prompt_source: str | None = Field(default=None, description="Where the variant came from (a prompts file, a Prompt Lab or Dynamic prompts run); shown with the run.")
    kb: str | None = Field(default=None, description="Knowledge base whose top kb_k chunks fill the variant's {context} for every row, retrieved at training time as they are when the model is used (retrieval-augmented fine-tuning).")
    kb_k: int = Field(default=3, ge=1, le=20, description="Chunks retrieved per row when kb is set.")
    context_tokens: int = Field(default=400, ge=16, le=8000, description="Most tokens of retrieved chunks per row when kb is set.")
    context_col: str | None = Field(default=None, description="Filled in at start: the dataset's context column (the default prompt includes it).")
    preset: str | None = Field(default=None, description="The preset these settings started from (filled in by the preset).")
    # -- method
    approach: Literal["auto", "generate", "encoder", "head"] = Field(default="auto", description="What is trained. generate: the LLM learns to write the answer after the prompt (LoRA or full; every task). encoder: the packaged MiniLM sentence encoder fine-tuned end to end with a label head (classification; the base model is not used). head: the LLM with a classification head, trained with LoRA (classification). auto: what the preset's measurements chose for classification, generate otherwise.")
    warm_start: bool = Field(default=True, description="encoder only: start from the dataset's embedding classifier (its logistic regression as the head over the normalised mean-pooled encoder; a linear probe, then fine-tuning), so training begins at the classifier's accuracy and the model kept is the best of that start and the checkpoints. Off: a random head.")
    method: Literal["lora", "full"] = Field(default="lora", description="LoRA adapters (small, fast) or full fine-tuning of every weight.")
    lora_r: int = Field(default=8, ge=1, le=512, description="LoRA rank: capacity of the adapter; 8-16 is typical.")
    lora_alpha: int = Field(default=16, ge=1, le=2048, description="LoRA scaling; usually 2 x r.")
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Dropout on the adapter input; 0 is fastest (dropout's random numbers cost a tenth of a CPU step); raise it (0.05-0.1) against overfitting.")
    lora_layers: int = Field(default=0, ge=0, le=1000, description="Adapt only the top N transformer layers (0 = all). Backpropagation then stops below the lowest adapted layer, so a step costs less; fewer layers learn less.")
    target_modules: Literal["attention", "all_linear"] = Field(default="attention", description="Adapt attention projections only, or every linear layer (more capacity, slower).")
    # -- optimisation
    lr: float = Field(default=2e-4, description="Peak learning rate (LoRA: 1e-4..1e-3; full: 1e-5..5e-5).")
    scheduler: Literal["linear", "cosine", "constant"] = Field(default="linear", description="How the learning rate decays after warm-up.")
    warmup_ratio: float = Field(default=0.05, ge=0.0, lt=1.0, description="Share of steps spent warming the learning rate up from 0.")
    time_budget_min: float | None = Field(default=None, description="Minutes the whole run may take, loading, evaluation and before/after included; the number of steps is derived from the speed measured on this machine and data. Unset: train for `epochs`.")
    epochs: float = Field(default=1.0, gt=0, le=100, description="Passes over the train split (with a time budget: the most it may make; ignored when max_steps > 0).")
    max_steps: int = Field(default=0, ge=0, description="Stop after this many optimizer steps; 0 = from the time budget or epochs.")
    batch_size: int = Field(default=32, description="Most rows in one step on each device.")
    tokens_per_batch: int = Field(default=2048, ge=16, le=1_000_000, description="Token budget of one step: rows x longest row stays within it, so short rows make larger batches.")
    grad_accum: int = Field(default=1, ge=1, le=1024, description="Steps accumulated before an update (effective batch = batch_size x grad_accum).")
    max_seq_len: int = Field(default=0, ge=0, le=32768, description="Longest prompt + answer in tokens; longer rows are refused before start. 0 (default): as long as the longest row needs, up to the model's context length.")
    freeze_layers: int = Field(default=0, ge=0, le=64, description="encoder only: the embeddings and this many of the lowest transformer layers keep their weights (0: all train). Backward then stops early, so a budget trains on more rows.")
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0, description="L2-style decay; 0.01-0.1 counters overfitting.")
    optimizer: Literal["adamw", "rmsprop", "sgd", "adafactor"] = Field(default="adamw", description="AdamW (default), RMSprop, SGD with momentum 0.9, or Adafactor (least memory).")
    precision: Literal["bf16", "fp32"] = Field(default="bf16", description="bf16 where the device supports it (about 2x faster here), else fp32.")
    seed: int = Field(default=0, description="Seed for data order and adapter initialisation.")
    # -- monitoring
    eval_every: int = Field(default=0, ge=0, description="Evaluate (and checkpoint) every N steps; 0 = `evaluations` times per run.")
    evaluations: int = Field(default=5, ge=1, le=1000, description="How many evaluations (and checkpoints) a run makes when eval_every is 0.")
    eval_sample: int = Field(default=200, ge=0, le=100000, description="Validation rows (one fixed, seeded sample) for the validation loss at each evaluation; 0 = the whole split.")
    eval_rows: int = Field(default=64, ge=0, le=10000, description="Validation rows (a fixed, seeded sample) scored for the task score at each evaluation (0 = loss only).")
    scorer: str = Field(default="auto", description="How the task score (validation score, early stopping, before/after) is computed: auto picks what the Prompt Lab would for these targets (label, number; for free text chrF, token F1 or JSON fields by the targets' shape), or name a scorer (`ladder finetune settings` lists them).")
    early_stopping_metric: Literal["auto", "val_loss", "val_score"] = Field(default="auto", description="What early stopping and the best checkpoint follow; auto: val_score (the scorer's mean on eval_rows) for free text, val_loss otherwise.")
    early_stopping_patience: int = Field(default=3, ge=0, le=100, description="Stop after this many evaluations without improvement; 0 = off.")
    early_stopping_min_delta: float = Field(default=0.0, ge=0.0, description="Smallest change that counts as an improvement.")
    overfit_patience: int = Field(default=2, ge=1, le=100, description="Overfitting alarm: validation loss rising for this many evaluations while train loss falls.")
    overfit_gap: float = Field(default=0.15, ge=0.0, le=1.0, description="Overfitting alarm: train score minus validation score above this (0 = off; the train rows are then not scored at each evaluation).")
    underfit_loss: float = Field(default=1.0, ge=0.0, description="Underfitting hint for labels and numbers: train and validation loss both above this after 3 evaluations.")
    underfit_min_drop: float = Field(default=0.02, ge=0.0, lt=1.0, description="Underfitting hint for free text (where a loss of 1.5 is ordinary): train and validation loss both fell less than this share over the last underfit_window evaluations.")
    underfit_window: int = Field(default=2, ge=1, le=100, description="Evaluations the free-text underfitting hint looks back over.")
    # -- results
    before_after: bool = Field(default=True, description="Score the base and the fine-tuned model on the test split at the end.")
    test_rows: int = Field(default=0, ge=0, description="Test rows for before/after; 0 = all.")
    export_merged: bool = Field(default=False, description="Also save a merged model (base + adapter) at the end.")

    @model_validator(mode="after")
    def _check(self) -> FinetuneConfig:
        if not self.lr > 0:
            raise ValueError(f"lr must be positive (got {self.lr}); try 2e-4 for LoRA or 2e-5 for full fine-tuning")
        if self.lr >= 1:
            raise ValueError(f"lr {self.lr} is far too large; learning rates are like 2e-4")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (got {self.batch_size}); try 32")
        if 0 < self.max_seq_len < 8:
            raise ValueError(f"max_seq_len must be 0 (fit the longest row) or at least 8 tokens "
                             f"(got {self.max_seq_len})")
        if self.time_budget_min is not None and not self.time_budget_min > 0:
            raise ValueError(f"time_budget_min must be a positive number of minutes (got "
                             f"{self.time_budget_min:g}), e.g. 5; leave it unset to train for "
                             "`epochs`")
        from core.finetune.metric import NOT_FOR_TRAINING, scorer_choices

        if self.scorer in NOT_FOR_TRAINING:
            raise ValueError(f"scorer={self.scorer} cannot validate a fine-tuning run: "
                             f"{NOT_FOR_TRAINING[self.scorer]}")
        if self.scorer not in scorer_choices():
            raise ValueError(f"unknown scorer '{self.scorer}'; choose one of "
                             f"{', '.join(scorer_choices())}")
        if self.early_stopping_metric == "val_score" and self.eval_rows == 0:
            raise ValueError("early_stopping_metric=val_score needs validation rows to score; "
                             "set eval_rows above 0 (e.g. 32) or use val_loss")
        if self.variant is not None:
            from core.prompts.variants import Variant

            v = Variant(**self.variant)
            if v.few_shot and v.few_shot_mode != "similar":
                raise ValueError("the variant uses fixed few-shot examples; fine-tuning teaches "
                                 "with the whole train split, so use few_shot_mode: similar "
                                 "(each row's most similar train rows) or few_shot 0")
        return self

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum

    def approach_for(self, task: str) -> str:
        """`approach=auto` made explicit for the dataset's task: the preset's classification
        approach (chosen by measurement) or generate.

        >>> FinetuneConfig(base_model="m", dataset="d", preset="quick").approach_for("free_text")
        'generate'
        """
        if self.approach != "auto":
            return self.approach
        if task == "classification":
            return CLASSIFICATION_APPROACH.get(self.preset or "", "generate")
        return "generate"

    def for_task(self, task: str) -> FinetuneConfig:
        """`approach=auto` and `early_stopping_metric=auto` made explicit for the dataset's task,
        with the preset's settings for that approach (where the user left them as preset).

        >>> c = FinetuneConfig(base_model="m", dataset="d")
        >>> c.for_task("free_text").early_stopping_metric, c.for_task("classification").early_stopping_metric
        ('val_score', 'val_loss')
        >>> FinetuneConfig(base_model="m", dataset="d", approach="encoder").for_task(
        ...     "classification").early_stopping_metric
        'val_score'
        
        """
        approach = self.approach_for(task)
        update: dict = {"approach": approach}
        tuned = APPROACH_SETTINGS.get((self.preset or "", approach), {})
        preset = PRESETS.get(self.preset or "", {})
        # a setting still at the preset's value takes the value measured for this approach
        update.update({k: v for k, v in tuned.items()
                       if getattr(self, k) == preset.get(k, type(self).model_fields[k].default)})
        if self.early_stopping_metric == "auto":
            by_score = (task == "free_text" or approach in ("encoder", "head")) and (
                update.get("eval_rows", self.eval_rows))
            update["early_stopping_metric"] = "val_score" if by_score else "val_loss"
        return self.model_copy(update=update)


PRESETS: dict[str, dict] = {
    "quick": dict(method="lora", lora_r=16, lora_alpha=32, target_modules="all_linear",
                  lora_layers=10, lr=1e-3, time_budget_min=5.0, epochs=3.0, max_steps=0, scheduler="cosine",
                  warmup_ratio=0.05, evaluations=3, eval_sample=64, eval_rows=32,
                  overfit_gap=0.0, early_stopping_patience=2, lora_dropout=0.0),
    "balanced": dict(method="lora", lora_r=16, lora_alpha=32, target_modules="all_linear",
                     lora_layers=10, lr=1e-3, time_budget_min=20.0, epochs=4.0, max_steps=0, scheduler="cosine",
                     warmup_ratio=0.05, evaluations=6, eval_sample=200, eval_rows=128,
                     early_stopping_patience=3, lora_dropout=0.0),
    "thorough": dict(method="lora", lora_r=32, lora_alpha=64, target_modules="all_linear",
                     lr=3e-4, time_budget_min=None, epochs=3.0, max_steps=0, scheduler="cosine",
                     warmup_ratio=0.05, evaluations=8, eval_sample=300, eval_rows=200,
                     early_stopping_patience=4, weight_decay=0.01, lora_dropout=0.05),
}
# The approach each preset trains on a classification dataset: the best held-out accuracy
# per minute in the real-data table (bench/RESULTS.md, "Real-data fine-tuning approaches").
# Thorough (no time limit) was not measured against the others and keeps the LoRA.
CLASSIFICATION_APPROACH: dict[str, str] = {"quick": "encoder", "balanced": "encoder"}
ENCODER_BASE = "minilm-l6"  # the packaged sentence encoder that approach=encoder fine-tunes


def trained_model(base_model: str, approach: str) -> str:
    """The registered model whose weights a run trains: the packaged sentence encoder for
    `approach=encoder` (the base model is not used), the base model otherwise.

    >>> trained_model("smollm2-135m-instruct", "encoder"), trained_model("m", "head")
    ('minilm-l6', 'm')
    """
    return ENCODER_BASE if approach == "encoder" else base_model


# What differs for an approach under a preset: an encoder learns at full-fine-tune rates;
# warm-started from the embedding classifier (the default), at 3e-5: on 20 Newsgroups in 5
# minutes 1e-4 first pulled validation accuracy 7-8 points below the start and ended 1.2
# points below the classifier on test, 3e-5 rose from the start and ended 2.0 above (another
# run: 0.4 below; a tenth of an epoch stays level with the classifier, bench/RESULTS.md).
# Its validation accuracy is cheap on short texts (a forward pass of MiniLM: about 1 s per
# 500 rows here), so it asks for the whole validation split (up to 2,000 rows): on 256 rows
# the checkpoint chosen followed the sample's noise (finsent: best at half an epoch, 70.8% on
# test). On long inputs a budgeted run reads fewer, to keep validation to 15% of the budget.
# Quick freezes the embeddings and the lowest 3 of MiniLM's 6 layers: backward stops above
# them, so 5 minutes train on 1.5-2x the rows; on 20 Newsgroups' long posts (a fifth of an
# epoch) that turned "level with the classifier" into +1.3 points on its 1,000 test posts,
# on the short sets it moved finsent +0.7 and TREC -1.0 (bench/RESULTS.md, "Frozen lower
# layers"). Balanced, which sees more of the data, trains all of them.
# Early stopping is off in Quick (5 evaluations: two flat ones are noise, not a plateau);
# the best checkpoint by validation accuracy is what is kept either way.
_ENCODER = dict(lr=3e-5, scheduler="linear", warmup_ratio=0.06, weight_decay=0.01,
                tokens_per_batch=4096, batch_size=32, eval_sample=256, eval_rows=2000,
                overfit_gap=0.0)
_HEAD = dict(lr=5e-4, eval_sample=256, eval_rows=256, overfit_gap=0.0, tokens_per_batch=4096)
APPROACH_SETTINGS: dict[tuple[str, str], dict] = {
    ("quick", "encoder"): dict(_ENCODER, epochs=10.0, evaluations=5, early_stopping_patience=0,
                               freeze_layers=3),
    ("balanced", "encoder"): dict(_ENCODER, epochs=20.0, evaluations=10,
                                  early_stopping_patience=4),
    ("quick", "head"): dict(_HEAD, early_stopping_patience=0),
    ("balanced", "head"): dict(_HEAD, early_stopping_patience=3),
}
PRESET_HELP = {
    "quick": "About 5 minutes in all, before/after included: the best model this machine "
             "trains in that time. Classification: the MiniLM encoder fine-tuned as a "
             "classifier, its embeddings and lowest 3 of 6 layers frozen so the minutes go "
             "to more rows (up to 10 epochs); other tasks: LoRA r=16 on every linear layer "
             "of the top 10 transformer layers (up to 3 epochs).",
    "balanced": "About 20 minutes in all. Classification: the MiniLM encoder fine-tuned as a "
                "classifier (up to 20 epochs, early stopping); other tasks: LoRA r=16 on the "
                "top 10 transformer layers, up to 4 epochs.",
    "thorough": "3 full epochs whatever the time, r=32, decay and dropout, early stopping "
                "with patience 4.",
}
# Rows a preset needs at least: fewer cannot fill a batch, a validation sample and a test.
MIN_TRAIN_ROWS = {"quick": 16, "balanced": 32, "thorough": 32}
SETTABLE = [n for n in FinetuneConfig.model_fields if n not in ("base_model", "dataset")]
# Names users bring from transformers/peft, accepted by `--set` and used for suggestions.
ALIASES = {
    "learning_rate": "lr", "num_train_epochs": "epochs", "epoch": "epochs",
    "per_device_train_batch_size": "batch_size", "gradient_accumulation_steps": "grad_accum",
    "warmup": "warmup_ratio", "warmup_steps": "warmup_ratio", "r": "lora_r",
    "alpha": "lora_alpha", "dropout": "lora_dropout", "lr_scheduler_type": "scheduler",
    "optim": "optimizer", "eval_steps": "eval_every", "max_length": "max_seq_len",
    "patience": "early_stopping_patience", "time_budget": "time_budget_min",
    "budget": "time_budget_min", "minutes": "time_budget_min", "max_tokens": "tokens_per_batch",
    "token_budget": "tokens_per_batch",
}


def describe_error(err: ValidationError) -> str:
    """One readable line per problem, naming the setting and what it is for."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = e.get("msg", "").removeprefix("Value error, ")
        if e.get("type") == "extra_forbidden":
            parts.append(unknown_setting(loc))
            continue
        info = FinetuneConfig.model_fields.get(loc)
        hint = f" ({info.description})" if info and info.description else ""
        parts.append(f"{loc}: {msg}{hint}" if loc else msg)
    return "; ".join(parts)


def unknown_setting(name: str) -> str:
    close = []
    for c in difflib.get_close_matches(name, SETTABLE + list(ALIASES), n=4, cutoff=0.5):
        c = ALIASES.get(c, c)
        if c not in close:
            close.append(c)
    close = close[:3]
    hint = f"did you mean {', '.join(close)}?" if close else f"known settings: {', '.join(SETTABLE)}"
    return f"unknown setting name '{name}'; {hint}"


def _coerce(name: str, text: str):
    """Turn `--set` text into the field's type: numbers, booleans, null, JSON for dicts."""
    info = FinetuneConfig.model_fields[name]
    ann = str(info.annotation)
    t = text.strip()
    if t.lower() in ("none", "null", "") and "None" in ann:
        return None
    if "bool" in ann:
        if t.lower() in ("1", "true", "yes", "on"):
            return True
        if t.lower() in ("0", "false", "no", "off"):
            return False
        raise FinetuneError(f"{name} takes true or false, not '{text}'")
    if "dict" in ann:
        try:
            return json.loads(t)
        except ValueError:
            raise FinetuneError(f"{name} takes a JSON object, e.g. {{\"name\": \"v\", \"template\": \"{{input}}\"}}") from None
    if "int" in ann and "float" not in ann:
        try:
            f = float(t)
        except ValueError:
            raise FinetuneError(f"{name} takes a whole number, not '{text}'") from None
        if f != int(f):
            raise FinetuneError(f"{name} takes a whole number, not '{text}'")
        return int(f)
    if "float" in ann:
        try:
            return float(t)
        except ValueError:
            raise FinetuneError(f"{name} takes a number such as 2e-4, not '{text}'") from None
    return t


def parse_sets(items: list[str]) -> dict:
    """`["lr=1e-4", "epochs=2"]` -> `{"lr": 0.0001, "epochs": 2.0}`.

    >>> parse_sets(["lr=1e-4", "target_modules=all_linear", "max_steps=30"])
    {'lr': 0.0001, 'target_modules': 'all_linear', 'max_steps': 30}
    """
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise FinetuneError(f"'{item}' is not key=value; write e.g. --set lr=1e-4")
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        key = ALIASES.get(key, key)
        if key not in FinetuneConfig.model_fields:
            raise FinetuneError(unknown_setting(key))
        out[key] = _coerce(key, value)
    return out


def build_config(base_model: str, dataset: str, preset: str | None = "quick",
                 overrides: dict | None = None) -> FinetuneConfig:
    """Preset values, then explicit overrides; every problem in one FinetuneError."""
    if preset is not None and preset not in PRESETS:
        raise FinetuneError(f"unknown preset '{preset}'; use one of {', '.join(PRESETS)}")
    values = {**(PRESETS[preset] if preset else {}), "preset": preset, **(overrides or {})}
    try:
        return FinetuneConfig(base_model=base_model, dataset=dataset, **values)
    except ValidationError as e:
        raise FinetuneError(describe_error(e)) from None
