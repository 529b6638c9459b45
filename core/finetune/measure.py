"""Measuring a run at its start, and fitting its steps and its scoring into the time budget.

A training step and a validation-loss pass are timed on this run's own batches (or
taken from what an earlier run of the same settings measured here). The task score is
timed the way it will be computed: candidate scoring on validation rows for labels;
for free text a generation of real test rows with the evaluation's own decoding (its
max_new_tokens and stop strings), because a generated answer of 30-100 tokens costs far
more per row than a label, and a timing on short outputs once promised a 5-minute run
that then scored for 8 minutes. That per-row time decides how many test rows
before/after scores and how many validation rows each evaluation generates
(core.finetune.budget.plan_scoring); the rest of the budget trains.

Trade-off: the generation is timed on the model being trained (LoRA not merged, unlike
the adapter before/after loads), which errs on the side of fewer rows rather than a late
run: on a real data-to-text Quick run (E2E, SmolLM2-135M, 2 CPU cores) it timed 0.62 s a
row where before/after then took 0.36-0.40, so before/after was planned at 74 s and took
42 s, and the run ended at 225 s of its 300. The timing costs about 10 s that a free-text
run re-spends every time, since answer lengths depend on the data.
"""

from __future__ import annotations

import random
import time

from core.finetune import budget as bud
from core.finetune.config import FinetuneConfig
from core.finetune.data import Rows, prompts_for, sample_indices
from core.finetune.prepare import Prepared, examples_of, score_sets_for, test_rows
from core.finetune.scoring import score_backend
from core.models.base import GenerationParams

TIMED_ROWS = 16  # rows generated together for the timing (after a 2-row warm-up)


def _subset(rows: Rows, idx: list[int]) -> Rows:
    return Rows([rows.values[i] for i in idx], [rows.targets[i] for i in idx],
                [rows.contexts[i] for i in idx], [rows.index[i] for i in idx])


def time_generation(backend, data, params: GenerationParams, seed: int,
                    n: int = TIMED_ROWS) -> dict:
    """Seconds per row of a generation of real test rows with the evaluation's decoding.

    Returns `s_per_row`, `rows`, the base's mean answer tokens, the targets' mean tokens
    and `after_factor` (how much longer the fine-tuned answers may take).
    """
    split = data.test if len(data.test) else data.eval
    groups = examples_of(split, data.task == "free_text")
    pick = [groups[i] for i in sample_indices(len(groups), n + 2, seed + 3)]
    prompts = prompts_for(data.variant, _subset(split, [i for i, _ in pick]), data.labels)
    model = backend.model
    was_training = model.training
    model.eval()
    try:
        # two rows with two tokens pay the first call and the shared prompt prefix
        backend.generate(prompts[:2], GenerationParams(max_new_tokens=2), batch_size=2)
        timed = prompts[2:] or prompts
        t0 = time.perf_counter()
        gens = backend.generate(timed, params, batch_size=len(timed))
        elapsed = time.perf_counter() - t0
    finally:
        if was_training:
            model.train()
    out_tokens = sum(g.output_tokens for g in gens) / len(gens)
    refs = [refs[0] for _, refs in pick[-len(timed):]]
    target_tokens = sum(len(backend.tok(r, add_special_tokens=False)["input_ids"])
                        for r in refs) / len(refs)
    return {"s_per_row": elapsed / len(timed), "rows": len(timed),
            "max_new_tokens": params.max_new_tokens, "answer_tokens": round(out_tokens, 1),
            "target_tokens": round(target_tokens, 1),
            "after_factor": bud.after_factor(out_tokens, target_tokens)}


def _time_scoring(backend, prep: Prepared, data) -> float:
    """Seconds per row of the validation score (labels: candidate scoring), warm."""
    import torch

    prompts, refs = prep.score_sets.get("val") or (
        prompts_for(data.variant, data.train.head(16), data.labels),
        [[t] for t in data.train.targets[:16]])
    # a few rows first: they compute the shared prompt prefix that every later row
    # reuses, as a whole test split does; the next rows' time is then the cost per row
    warm = min(4, max(0, len(prompts) - 1))
    n = min(16, len(prompts) - warm)
    with torch.no_grad():
        if warm:
            score_backend(backend, prompts[:warm], refs[:warm], prep.validator)
        t0 = time.perf_counter()
        score_backend(backend, prompts[warm:warm + n], refs[warm:warm + n], prep.validator)
    return (time.perf_counter() - t0) / max(1, n)


def _time_steps(cfg, model, prep: Prepared, collator, device: str) -> tuple[float, float, float]:
    """(seconds per computed token of a step, of a validation-loss pass, mean step tokens)."""
    import torch

    from core.finetune.trainer import answer_loss

    rng = random.Random(cfg.seed)
    picks = [rng.choice(prep.train) for _ in range(4)]  # a warm-up, then three timed
    model.train()
    step_s = bud.measure_steps(model, [collator([b]) for b in picks], lambda m, b: answer_loss(
        m, {k: v.to(device) for k, v in b.items()})[0]) * bud.STEP_OVERHEAD
    tokens = sum(collator.computed(b) for b in picks[1:]) / 3
    eval_per_token = step_s / 3 / max(1.0, tokens)
    if prep.eval:  # validation loss: forward passes only, timed on one validation batch
        batch = collator([prep.eval[0]])
        t0 = time.perf_counter()
        with torch.no_grad():
            answer_loss(model, {k: v.to(device) for k, v in batch.items()})
        eval_per_token = ((time.perf_counter() - t0) * bud.STEP_OVERHEAD
                          / max(1, collator.computed(prep.eval[0])))
    return step_s / max(1.0, tokens), eval_per_token, tokens


def plan_budget(ctx, cfg: FinetuneConfig, model, prep: Prepared, collator, data, tok,
                device: str, known: bud.Speed | None = None
                ) -> tuple[bud.Budget, bud.Speed, dict]:
    """Fit the steps into the budget; returns the plan, the speed, and the settings it
    decided (`test_rows`, free text: `eval_rows`), which the caller writes into the run's
    config. `prep.score_sets` is re-drawn when the validation rows are trimmed."""
    from core.models.local import LocalBackend

    budget_s = cfg.time_budget_min * 60
    mean_tokens = sum(collator.computed(b) for b in prep.train) / max(1, len(prep.train))
    if known is not None:
        s_per_token, eval_per_token = known.s_per_token, known.eval_s_per_token
    else:
        s_per_token, eval_per_token, _ = _time_steps(cfg, model, prep, collator, device)
    backend = LocalBackend(model, tok, str(device), "measuring")
    decided: dict = {}
    scoring: dict = {}
    n_test = len(test_rows(data, 0))
    loss_each = eval_per_token * sum(collator.computed(b) for b in prep.eval)
    if data.task == "free_text":
        scoring = time_generation(backend, data, prep.validator.params, cfg.seed)
        score_row = scoring["s_per_row"]
        sp = bud.plan_scoring(budget_s, score_row, n_test, cfg.eval_rows, cfg.evaluations,
                              len(prep.score_sets) or 1, scoring["after_factor"],
                              spent_s=time.time() - ctx.started,
                              loss_s=cfg.evaluations * loss_each)
        test_n = min(cfg.test_rows, n_test) if cfg.test_rows else sp.test_rows
        before_after = (test_n * score_row * (1 + scoring["after_factor"])
                        + bud.BEFORE_AFTER_FIXED_S)
        if sp.val_rows != cfg.eval_rows:
            decided["eval_rows"] = sp.val_rows
            if not sp.val_rows and cfg.early_stopping_metric == "val_score":
                decided["early_stopping_metric"] = "val_loss"  # no score to follow
            prep.score_sets = score_sets_for(cfg.model_copy(update=decided), data)
        scoring.update(test_rows=test_n, eval_rows=sp.val_rows, traded=list(sp.traded))
        for t in sp.traded:
            ctx.log(f"budget: {t}, so that training keeps at least "
                    f"{bud.TRAIN_SHARE_MIN:.0%} of the {budget_s:.0f} s")
    else:
        score_row = (known.score_s_per_row if known is not None
                     else _time_scoring(backend, prep, data))
        test_n = (min(cfg.test_rows, n_test) if cfg.test_rows
                  else bud.test_rows_for(budget_s, score_row, n_test))
        before_after = 2 * test_n * score_row
    decided["test_rows"] = test_n
    if not cfg.before_after:
        before_after = 0.0
    speed = bud.Speed(s_per_token=s_per_token, score_s_per_row=score_row,
                      eval_s_per_token=eval_per_token)
    eval_each = loss_each + score_row * sum(len(p) for p, _ in prep.score_sets.values())
    step_s = speed.step_s(mean_tokens) * cfg.grad_accum
    cap = bud.epoch_steps(len(prep.train), cfg.epochs, cfg.grad_accum)
    spent = time.time() - ctx.started
    steps = bud.budget_steps(budget_s, spent, step_s, before_after, eval_each,
                             cfg.evaluations, cap)
    plan = bud.Budget(budget_s, spent, before_after, eval_each, cfg.evaluations, step_s, steps,
                      scoring or None)
    return plan, speed, decided
