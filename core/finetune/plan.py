"""Checks and estimates before a run starts: every problem found, named, with its fix.

`plan_run(ws, cfg)` resolves the dataset version and the variant, checks the
base model, renders and tokenizes every row (so a `max_seq_len` shorter than
the prompts is caught here, not after minutes of training) and estimates time
and memory. It raises `FinetuneError` listing all problems; nothing is
written and no process starts.

Trade-off: tokenizing every row costs a second or two (and converting a
packaged model the first time, ~25 s) before the click is accepted. That is
cheap next to a run that dies at its first long row.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from core.finetune.config import MIN_TRAIN_ROWS, FinetuneConfig, FinetuneError
from core.finetune.data import Encoder, Rows, prompts_for, rows_from_frame
from core.finetune.prompting import run_variant
from core.hf import loading
from core.models import kinds
from core.prompts.variants import Variant

# Share of the measured matmul peak a training step reaches when nothing was measured yet
# on this machine (bench/RESULTS.md: 45-60% on a 2-core CPU); the first run's measurement
# replaces it (core.finetune.budget).
STEP_EFFICIENCY = 0.45
SCORE_EFFICIENCY = 0.35
GEN_EFFICIENCY = 0.1  # generating answer tokens one forward pass at a time (free text)
LOAD_S = 12.0  # worker start, imports, loading the cached model, measuring three steps
GPU_FLOPS = 60e12  # a guess for small models on one modern GPU: they are latency bound
TINY_PARAMS = 5_000_000


@dataclass
class RunData:
    version: object
    task: str
    labels: list[str] | None
    variant: Variant  # what renders each row (dynamic parts resolved into the rows)
    train: Rows
    eval: Rows
    test: Rows
    chosen: Variant | None = None  # the variant as the user chose it (what the run records)


@dataclass
class Estimate:
    params: int
    trainable: int
    steps: int
    tokens_per_epoch: int
    seconds: float
    memory_gb: float
    device: str
    notes: list[str] = field(default_factory=list)
    examples: int = 0  # rows the run will train on (with repeats over epochs)
    train_rows: int = 0
    train_s: float = 0.0
    validate_s: float = 0.0
    score_s: float = 0.0
    budget_s: float | None = None
    measured: bool = False  # speed from an earlier run on this machine, not a FLOP count
    min_seconds: float = 0.0  # loading, one step and before/after: the least a run takes
    test_rows: int = 0  # test rows before/after scores (a seeded sample when the split is large)

    @property
    def epochs(self) -> float:
        return self.examples / self.train_rows if self.train_rows else 0.0

    def text(self) -> str:
        def dur(x: float) -> str:
            return f"{x:.0f} s" if x < 90 else f"{x / 60:.1f} min"

        how = "measured on this machine" if self.measured else "a first guess; the run measures"
        budget = f" (budget {dur(self.budget_s)})" if self.budget_s else ""
        return (f"Estimate ({how}): about {dur(self.seconds)} in all{budget}: training "
                f"{dur(self.train_s)}, validation {dur(self.validate_s)}, before/after "
                f"{dur(self.score_s)}. {self.steps} steps seeing about {self.examples:,} "
                f"examples ({self.epochs:.2g} of an epoch of {self.train_rows:,} train rows); "
                f"{self.trainable:,} of {self.params:,} parameters trained, about "
                f"{self.memory_gb:.1f} GB of memory on {self.device}.")


@dataclass
class Plan:
    config: FinetuneConfig
    data: RunData
    estimate: Estimate
    model_path: str
    max_len: int


def load_run_data(ws, cfg: FinetuneConfig, problems: list[str] | None = None) -> RunData | None:
    """Rows of the three splits rendered through the variant; problems appended, not raised."""
    from core.datasets import versions as store
    from core.datasets.errors import DatasetError

    problems = [] if problems is None else problems
    try:
        version = store.get_version(ws, cfg.dataset, cfg.dataset_version)
    except DatasetError as e:
        problems.append(str(e))
        return None
    if cfg.dataset_hash and cfg.dataset_hash != version.hash:
        problems.append(f"dataset '{cfg.dataset}' version {version.number} changed since the run "
                        "was configured (its content hash differs); start a new run.")
        return None
    sp = store.get_split(ws, version)
    name = f"'{cfg.dataset}' version {version.number}"
    if sp is None:
        problems.append(f"{name} has no train split; make one with `ladder data split "
                        f"{cfg.dataset} --val 0.1 --test 0.1` or on the Data page.")
        return None
    frame = store.load_frame(ws, version)
    m = version.mapping
    parts = {}
    for split in (cfg.train_split, cfg.eval_split, cfg.test_split):
        if split not in store.SPLITS:
            problems.append(f"unknown split '{split}'; use train, validation or test.")
            return None
        parts[split] = rows_from_frame(frame.iloc[sp.indices(split)].reset_index(drop=True), m)
    if not len(parts[cfg.train_split]):
        problems.append(f"{name} has no rows in its {cfg.train_split} split; make a split with "
                        "training rows (e.g. --val 0.1 --test 0.1).")
    if not len(parts[cfg.eval_split]) and cfg.early_stopping_patience:
        problems.append(f"{name} has no {cfg.eval_split} rows, so early stopping cannot work; "
                        "re-split with --val 0.1, or set early_stopping_patience=0.")
    labels = None
    if m.task == "classification":
        labels = sorted({str(t).strip() for t in frame[m.target_col] if str(t).strip()})
    names = [cfg.train_split, cfg.eval_split, cfg.test_split]
    found = run_variant(ws, cfg, version, sp, {n: parts[n] for n in names}, problems)
    if found is None:
        return None
    variant, rendered = found
    return RunData(version, m.task, labels, rendered, parts[cfg.train_split],
                   parts[cfg.eval_split], parts[cfg.test_split], variant)


def trainable_models(ws) -> list[str]:
    """Ids of the registered models that can be a fine-tune's base (their kind is trainable)."""
    return [s.id for s in ws.registry.list() if (k := kinds.find(s.kind)) and k.trainable]


def check_base_model(ws, cfg: FinetuneConfig, problems: list[str]):
    from core.models.base import ModelError

    try:
        spec = ws.registry.get(cfg.base_model)
        kind = kinds.of(spec)
    except ModelError as e:
        problems.append(str(e))
        return None
    if not kind.trainable:
        why = (kind.untrainable.format(**spec.model_dump()) if kind.untrainable else
               f"is a {kind.label.lower()}, whose weights cannot be fine-tuned here.")
        problems.append(f"'{spec.id}' {why} Models that can be fine-tuned: "
                        f"{', '.join(trainable_models(ws))}.")
        return None
    return spec


def plan_run(ws, cfg: FinetuneConfig, progress=None) -> Plan:
    """Validate `cfg` against the workspace and estimate the run; raise FinetuneError if unusable."""
    from core.models.cache import materialize

    problems: list[str] = []
    spec = check_base_model(ws, cfg, problems)
    data = load_run_data(ws, cfg, problems)
    if data is not None:
        from core.finetune.seqcls import check_labels

        problems += check_labels(data, cfg.approach_for(data.task), cfg.dataset)
    if problems:
        raise FinetuneError(" ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
                            if len(problems) > 1 else problems[0])
    from core.finetune.build import count_params
    from core.finetune.seqcls import encoder_params, label_examples

    approach = cfg.approach_for(data.task)
    if approach == "encoder":  # the packaged MiniLM is what trains, whatever the base model
        from core.models.seqcls import encoder_path

        path = encoder_path()
    else:
        path = materialize(spec, ws.settings.model_cache, progress)
    tok, config = _tokenizer_and_config(path, spec.trust_remote_code)
    frozen = cfg.for_task(data.task).freeze_layers  # the approach's own setting under a preset
    params, trainable = (encoder_params(config, frozen) if approach == "encoder"
                         else count_params(config, cfg))
    if params < TINY_PARAMS and os.environ.get("LADDER_ALLOW_TINY") != "1":
        raise FinetuneError(f"'{spec.id}' has only {params:,} parameters: a test model, too small "
                            "to learn a task. Choose a real base model (set LADDER_ALLOW_TINY=1 "
                            "only for tests).")
    need_rows = MIN_TRAIN_ROWS.get(cfg.preset or "", 1)
    if len(data.train) < need_rows:
        raise FinetuneError(
            f"'{cfg.dataset}' has {len(data.train)} train rows; the {cfg.preset} preset needs at "
            f"least {need_rows} to learn from (and validation and test rows to measure it). Add "
            "rows, or re-split with a larger train share.")
    enc = Encoder(tok)
    examples: dict[str, list[dict]] = {}
    longest = (0, 0, "")
    for name, rows in (("train", data.train), ("validation", data.eval), ("test", data.test)):
        if approach in ("encoder", "head"):  # the input alone, cut at the model's limit
            exs = examples[name] = label_examples(tok, rows, approach)
            continue
        prompts = prompts_for(data.variant, rows, data.labels)
        exs = examples[name] = enc.examples(prompts, rows.targets)
        for i, e in enumerate(exs):
            if len(e["input_ids"]) > longest[0]:
                longest = (len(e["input_ids"]), e["prompt_len"], f"{name} row {i + 1}")
    context = getattr(config, "max_position_embeddings", None) or 2048
    if not cfg.max_seq_len and longest[0] > context:
        raise FinetuneError(
            f"the longest prompt + answer is {longest[0]} tokens ({longest[2]}; the prompt alone "
            f"is {longest[1]}), more than {spec.id}'s context of {context} tokens. Shorten the "
            "prompt or those rows.")
    if cfg.max_seq_len and longest[0] > cfg.max_seq_len:
        need = 2 ** math.ceil(math.log2(longest[0]))
        raise FinetuneError(
            f"max_seq_len is {cfg.max_seq_len} but the longest prompt + answer is {longest[0]} "
            f"tokens ({longest[2]}; the prompt alone is {longest[1]}): it would be cut off. "
            f"Raise max_seq_len to {need} (--set max_seq_len={need}) or shorten the prompt.")
    if longest[0] > cfg.tokens_per_batch:
        raise FinetuneError(
            f"tokens_per_batch is {cfg.tokens_per_batch} but the longest prompt + answer is "
            f"{longest[0]} tokens ({longest[2]}): a step could not hold it. Set tokens_per_batch "
            f"to at least {longest[0]} (e.g. --set tokens_per_batch={max(2048, longest[0])}).")
    from core.finetune.metric import check_scorer

    bad = check_scorer(cfg.scorer, data.task, list(data.train.targets))
    if bad:
        raise FinetuneError(bad)
    cfg = cfg.model_copy(update={"dataset_version": data.version.number,
                                 "dataset_hash": data.version.hash,
                                 "variant": (data.chosen or data.variant).model_dump(),
                                 "context_col": data.version.mapping.context_col}
                       ).for_task(data.task)
    # a budgeted run decides its test sample once it has timed its scoring (core.finetune.measure)
    est = estimate(ws, cfg, config, params, trainable, examples, data)
    # a first guess (no measurement yet) may be pessimistic: refuse only at half its figure
    need = est.min_seconds * (1.0 if est.measured else 0.5)
    if cfg.time_budget_min and not cfg.max_steps and cfg.time_budget_min * 60 < need:
        raise FinetuneError(
            f"time_budget_min={cfg.time_budget_min:g} is too short: loading, one step of "
            f"training and before/after take about {need:.0f} s on {est.device}; set "
            f"time_budget_min={math.ceil(need / 6) / 10:g} or more, or lower test_rows.")
    return Plan(cfg, data, est, path, longest[0])


def _tokenizer_and_config(path: str, trust_remote_code: bool):
    with loading():
        from transformers import AutoConfig, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    return tok, config


def _peak_flops(dtype) -> float:
    """Matmul FLOP/s of this machine in `dtype` (a quick square product; cached)."""
    import time

    import torch

    key = str(dtype)
    if key not in _PEAK:
        a = torch.randn(768, 768, dtype=dtype)
        a @ a
        t0 = time.perf_counter()
        for _ in range(4):
            a @ a
        _PEAK[key] = 4 * 2 * 768**3 / max(time.perf_counter() - t0, 1e-9)
    return _PEAK[key]


_PEAK: dict[str, float] = {}


def estimate(ws, cfg: FinetuneConfig, model_config, params: int, trainable: int,
             examples: dict[str, list[dict]], data: RunData) -> Estimate:
    """Time and memory of the run: speed an earlier run measured here, else a FLOP count.

    The steps follow the same arithmetic the worker uses once it has measured itself
    (core.finetune.budget), so a time budget's estimate and its run agree.
    """
    import torch

    from core.finetune import budget as bud
    from core.finetune.data import TrainCollator, sample_indices, token_batches
    from core.finetune.prepare import test_rows
    from core.finetune.seqcls import val_rows_asked
    from core.hardware import native_bf16

    gpu = torch.cuda.is_available()
    device = "cuda" if gpu else "cpu"
    bf16 = cfg.precision == "bf16" and native_bf16(device)
    where = "the GPU" if gpu else f"this CPU ({os.cpu_count()} cores)"
    train = examples["train"] or [{"input_ids": [0], "prompt_len": 0}]
    col = TrainCollator(0)
    batches = token_batches(train, cfg.tokens_per_batch, cfg.batch_size, cfg.seed)
    step_tokens = sum(col.computed(b) for b in batches) / len(batches)
    rows_per_step = len(train) / len(batches) * cfg.grad_accum
    evald = [examples["validation"][i] for i in
             sample_indices(len(examples["validation"]), cfg.eval_sample, cfg.seed)]
    eval_tokens = sum(col.computed(b) for b in
                      token_batches(evald, cfg.tokens_per_batch, cfg.batch_size, cfg.seed))
    generative = data.task == "free_text"
    n_test = len(test_rows(data, 0)) if generative else len(examples["test"])
    test_n = min(cfg.test_rows or n_test, n_test)
    sets = 2 if cfg.overfit_gap > 0 else 1
    score_n = min(cfg.eval_rows, len(examples["validation"])) * sets
    speed = bud.known_speed(ws, bud.signature(cfg, device, task=data.task))
    speed_known, notes = speed is not None, []
    if speed is None:
        rate = GPU_FLOPS if gpu else _peak_flops(torch.bfloat16 if bf16 else torch.float32)
        flop_tok = (6 if cfg.method == "full" else 4) * params
        row_tokens = step_tokens * cfg.grad_accum / rows_per_step  # after prefix sharing
        score_row = 2 * params * row_tokens / (rate * SCORE_EFFICIENCY)
        if generative:  # each answer token is a forward pass of its own
            answers = sorted(len(e["input_ids"]) - e["prompt_len"] for e in train)
            new_tokens = answers[int(0.99 * (len(answers) - 1))] + 8
            score_row += 2 * params * new_tokens / (rate * GEN_EFFICIENCY)
        speed = bud.Speed(s_per_token=flop_tok / (rate * STEP_EFFICIENCY),
                          score_s_per_row=score_row,
                          eval_s_per_token=flop_tok / 3 / (rate * STEP_EFFICIENCY))
        notes.append("No run has measured this machine yet: the estimate counts FLOPs; the run "
                     "measures its own speed first and fits its steps to the budget.")
    budgeted = cfg.time_budget_min and not cfg.max_steps and cfg.before_after
    if budgeted and generative:
        sp = bud.plan_scoring(cfg.time_budget_min * 60, speed.score_s_per_row, n_test,
                              cfg.eval_rows, cfg.evaluations, sets, spent_s=LOAD_S,
                              loss_s=cfg.evaluations * speed.eval_s_per_token * eval_tokens)
        test_n = min(cfg.test_rows, n_test) if cfg.test_rows else sp.test_rows
        score_n = sp.val_rows * sets
        notes += [f"Long answers: {t}, so that training keeps at least "
                  f"{bud.TRAIN_SHARE_MIN:.0%} of the budget." for t in sp.traded]
    elif budgeted and not cfg.test_rows:
        test_n = bud.test_rows_for(cfg.time_budget_min * 60, speed.score_s_per_row, test_n)
    if budgeted and test_n < n_test:
        notes.append(
            f"Before/after scores a seeded sample of {test_n:,} of the {n_test:,} test "
            f"{'inputs' if generative else 'rows'}, so that it takes about "
            f"{bud.SCORE_SHARE:.0%} of the budget (set test_rows to choose; the Model "
            "comparison scores the whole split).")
    step_s = speed.step_s(step_tokens) * cfg.grad_accum
    eval_each = speed.eval_s_per_token * eval_tokens + speed.score_s_per_row * score_n
    if cfg.approach in ("encoder", "head") and examples["validation"]:  # as seqcls plans it
        val = examples["validation"]
        row_s = speed.eval_s_per_token * sum(len(e["input_ids"]) for e in val) / len(val)
        n_val = val_rows_asked(cfg, len(val))
        eval_each = row_s * (bud.label_val_rows(cfg.time_budget_min * 60, row_s,
                                                cfg.evaluations + 1, n_val) if budgeted else n_val)
    score_s = 2 * test_n * speed.score_s_per_row if cfg.before_after else 0.0
    cap = bud.epoch_steps(len(batches), cfg.epochs, cfg.grad_accum)
    if cfg.max_steps:
        steps = cfg.max_steps
    elif cfg.time_budget_min:
        steps, _ = bud.eval_schedule(
            bud.budget_steps(cfg.time_budget_min * 60, LOAD_S, step_s, score_s, eval_each,
                             cfg.evaluations, cap), cfg.evaluations, fit=True)
    else:
        steps, _ = bud.eval_schedule(cap, cfg.evaluations, fit=False)
    n_evals = cfg.evaluations if not cfg.eval_every else max(1, steps // cfg.eval_every)
    seen = steps * rows_per_step / max(1, len(examples["train"]))
    if cfg.approach == "encoder" and cfg.time_budget_min and speed_known and seen < 0.25:
        notes.append(f"The budget buys about {seen:.2f} of an epoch of these rows: the encoder "
                     "starts from the embedding classifier and will likely end close to it "
                     "(a longer budget, e.g. Balanced, trains more of the data).")
    train_s, validate_s = steps * step_s, n_evals * eval_each if examples["validation"] else 0.0
    seconds = LOAD_S + train_s + validate_s + score_s + bud.SAVE_MARGIN_S
    wbytes = 2 if bf16 and cfg.method == "lora" else 4
    hidden = getattr(model_config, "hidden_size", 1024)
    layers = getattr(model_config, "num_hidden_layers", 12)
    opt_bytes = trainable * (4 + 4 + 8) if cfg.method == "lora" else params * 16
    act = cfg.tokens_per_batch * hidden * layers * 34 * wbytes / 2
    memory = params * wbytes + opt_bytes + act + 0.5e9  # + the runtime itself
    if cfg.precision == "bf16" and not bf16:
        notes.append("This CPU computes bf16 slowly (no native support): the run uses fp32.")
    return Estimate(params, trainable, steps, sum(len(e["input_ids"]) for e in train),
                    seconds, memory / 1e9, where, notes, examples=int(steps * rows_per_step),
                    train_rows=len(examples["train"]), train_s=train_s, validate_s=validate_s,
                    score_s=score_s, budget_s=(cfg.time_budget_min * 60
                                               if cfg.time_budget_min and not cfg.max_steps
                                               else None),
                    measured=not notes or "No run" not in notes[0],
                    min_seconds=LOAD_S + step_s + score_s + bud.SAVE_MARGIN_S, test_rows=test_n)
