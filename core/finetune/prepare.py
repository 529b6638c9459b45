"""A run's data as the Trainer, the validation scorer and before/after take it.

Training examples are cut into token-budget micro-batches; the validation loss and the
validation score use fixed, seeded samples of the validation split, so every evaluation
of a run (and of its resumed part) measures the same rows. For free text, rows that
share an input are one example with all their targets as references (the evaluation
engine groups its rows the same way), both for the validation score and before/after.

Trade-off: the samples are drawn from the row count, not from the rows' content, so a
changed `eval_rows` (a time budget trims it for slow generation) draws a different
sample; the trimmed count is written into the run's config, so a resume draws the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.finetune.config import FinetuneConfig
from core.finetune.data import Encoder, Rows, prompts_for, sample_indices, token_batches
from core.finetune.metric import generation_for, group_references, resolve, row_keys
from core.finetune.scoring import Validator


@dataclass
class Prepared:
    """A run's data as the Trainer and the callback take it."""

    train: list[list[dict]]  # micro-batches of examples
    eval: list[list[dict]]  # micro-batches of the fixed validation-loss sample
    score_sets: dict  # {"val": (prompts, references), "train": (prompts, references)}
    validator: Validator | None = None
    scorer_why: str = ""


def examples_of(rows: Rows, grouped: bool) -> list[tuple[int, list[str]]]:
    """(row, references) per example: rows sharing an input folded together when `grouped`."""
    if grouped:
        return group_references(row_keys(rows), rows.targets)
    return [(i, [t]) for i, t in enumerate(rows.targets)]


def score_sets_for(cfg: FinetuneConfig, data, train_prompts=None, eval_prompts=None) -> dict:
    """The fixed, seeded rows the validation (and train) score uses at every evaluation."""
    if not cfg.eval_rows:
        return {}
    grouped = data.task == "free_text"
    eval_prompts = eval_prompts or prompts_for(data.variant, data.eval, data.labels)
    val = examples_of(data.eval, grouped)
    pick = [val[i] for i in sample_indices(len(val), cfg.eval_rows, cfg.seed + 1)]
    sets = {"val": ([eval_prompts[i] for i, _ in pick], [refs for _, refs in pick])}
    if cfg.overfit_gap > 0:
        train_prompts = train_prompts or prompts_for(data.variant, data.train, data.labels)
        tr = examples_of(data.train, grouped)
        pick = [tr[i] for i in sample_indices(len(tr), cfg.eval_rows, cfg.seed + 2)]
        sets["train"] = ([train_prompts[i] for i, _ in pick], [refs for _, refs in pick])
    return sets


def validator_for(cfg: FinetuneConfig, data, context: int | None = None
                  ) -> tuple[Validator, str]:
    """The run's scorer (resolved on the train targets) and the evaluation's decoding for a
    model of `context` tokens."""
    choice = resolve(cfg.scorer, data.task, list(data.train.targets))
    params = generation_for(data.task, engine_rows(data.train), data.variant, data.labels,
                            context)
    return Validator(data.task, choice.kind, params, data.labels), choice.why


def prepare(cfg: FinetuneConfig, data, tok, context: int | None = None) -> Prepared:
    """Examples cut into token-budget micro-batches; the fixed, seeded validation samples;
    the scorer and decoding (for a model of `context` tokens) the validation score uses."""
    enc = Encoder(tok)
    train_prompts = prompts_for(data.variant, data.train, data.labels)
    eval_prompts = prompts_for(data.variant, data.eval, data.labels)
    train_ex = enc.examples(train_prompts, data.train.targets)
    loss_idx = sample_indices(len(data.eval), cfg.eval_sample, cfg.seed)
    eval_ex = enc.examples([eval_prompts[i] for i in loss_idx],
                           [data.eval.targets[i] for i in loss_idx])
    cut = lambda exs: token_batches(exs, cfg.tokens_per_batch, cfg.batch_size, cfg.seed)  # noqa: E731
    validator, why = validator_for(cfg, data, context)
    return Prepared(cut(train_ex), cut(eval_ex) if eval_ex else [],
                    score_sets_for(cfg, data, train_prompts, eval_prompts), validator, why)


def engine_rows(split) -> list[dict]:
    """One split's rows in the evaluation engine's row format."""
    return [{**v, "row_id": split.index[i], "input": v.get("input", ""), "target": t,
             "targets": [t], "context": c}
            for i, (v, t, c) in enumerate(zip(split.values, split.targets, split.contexts,
                                              strict=True))]


def test_rows(data, limit: int, seed: int = 0) -> list[dict]:
    """The test split in the evaluation engine's row format (free text: one row per input,
    every target a reference); `limit` takes a seeded sample."""
    rows = engine_rows(data.test)
    if data.task == "free_text":
        rows = [{**rows[i], "targets": refs} for i, refs in examples_of(data.test, True)]
    if not limit or limit >= len(rows):
        return rows
    return [rows[i] for i in sorted(sample_indices(len(rows), limit, seed))]
