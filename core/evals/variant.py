"""One variant of one model on explicit rows, outside any stored run.

Fine-tuning's before/after scores the base and the tuned model on a sample of the test
split with the run's prompt; it goes through the engine's prompts, cache, chunk loop and
scorers and the leaderboard's statistics, so its numbers match the other rungs, but no
run is recorded (the rows are not a dataset split of their own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from core.evals import scorers as sc
from core.evals.config import EvalConfig
from core.evals.engine import (
    STOPPED,
    Progress,
    Task,
    build_fitted,
    cell_key,
    compute_chunks,
    label_baseline,
    report_progress,
    scoring_fn,
)
from core.evals.generation import generation_params, model_context
from core.evals.rows import EvalRows
from core.evals.store import cached_outputs, store_outputs
from core.evals.summary import entry_stats, row_results
from core.models.base import ModelError
from core.prompts.variants import Variant


@dataclass
class VariantResult:
    """Cells and summary of one variant on explicit rows."""

    cells: list[dict]
    summary: dict
    truncated: list[int] = field(default_factory=list)  # rows whose input was cut to fit


def evaluate_variant(ws, model_id: str, variant: Variant, rows: list[dict], *, task: str,
                     labels: list[str], scoring: str = "auto", train_rows: list[dict] | None = None,
                     samples: int = 1, temperature: float = 0.0, seed: int = 0,
                     progress: Progress | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     scorer: sc.ScorerConfig | None = None, truncate: str | None = None,
                     check: bool = True) -> VariantResult:
    """Score one variant of one model on given rows (`scorer`: the task's auto scorer when
    None). A model error is raised; `should_stop` ends early with the cells done so far.
    Prompts that do not fit the model's context raise EvalError before any answer, or are
    cut with `truncate` (core.evals.fit); `check=False` skips that for rows already checked
    (fine-tuning's plan checks prompt + answer against the context itself).

    Each cell reports `row_id`, `sample`, `output`, `parsed`, `score`, `passed` and
    `error_kind`; the summary has the leaderboard keys (n, score, ci_low, ci_high, ...).
    """
    cfg = EvalConfig(dataset="(rows)", models=[model_id], variants=[variant], scoring=scoring,
                     samples=samples, temperature=temperature, seed=seed,
                     scorer=scorer or sc.ScorerConfig(), truncate=truncate)
    data = EvalRows(version=None, split="rows", rows=rows, train_rows=train_rows or [],
                    labels=list(labels))  # type: ignore[arg-type]
    mode = cfg.mode_for(task, ws.registry.get(model_id).kind)
    fitted = build_fitted(ws, cfg, data, variant, check=check, task=task)
    prompts = fitted.prompts
    cal = label_baseline(ws, cfg, data, model_id, variant) if mode == "likelihood" else None
    context = model_context(ws, model_id) if mode == "generate" else None
    tasks = []
    for s in range(samples):
        params = generation_params(cfg, data, variant, s, task=task, context=context)
        tasks += [Task(model_id, variant.name, r, s, p,
                       cell_key(model_id, p, params, s, mode, data.labels, cal), mode, cal, params)
                  for r, p in zip(rows, prompts, strict=True)]
    outputs = cached_outputs(ws, [t.key for t in tasks])
    answered = lambda: sum(t.key in outputs for t in tasks)  # noqa: E731 (rows, not keys)
    report_progress(progress, answered(), len(tasks), None)  # what earlier runs answered
    for part, outs in compute_chunks(ws, [t for t in tasks if t.key not in outputs],
                                     data.labels, should_stop=should_stop):
        if outs is STOPPED:
            break
        if isinstance(outs, ModelError):
            raise outs
        store_outputs(ws, list(zip(part, outs, strict=True)))
        outputs.update({t.key: o for t, o in zip(part, outs, strict=True)})
        report_progress(progress, answered(), len(tasks), None)
    done = [(t, outputs[t.key]) for t in tasks if t.key in outputs]
    score = scoring_fn(ws, cfg, task, data.labels, rows)
    cells = [{"row_id": t.row["row_id"], "sample": t.sample, "output": o["output"],
              "parsed": sco.parsed, "score": sco.score, "passed": sco.passed,
              "error_kind": sco.error_kind, "latency_s": o["latency_s"],
              "input_tokens": o["input_tokens"], "output_tokens": o["output_tokens"],
              "cost_usd": o.get("cost_usd")} for (t, o), sco in zip(done, score(done), strict=True)]
    if not cells:
        return VariantResult([], {"model": model_id, "name": variant.name, "n": 0,
                                  "score": float("nan"), "ci_low": float("nan"),
                                  "ci_high": float("nan")}, fitted.cut)
    frame = pd.DataFrame(cells).assign(model_id=model_id, variant=variant.name)
    return VariantResult(cells, entry_stats(model_id, variant.name, row_results(frame), frame),
                         fitted.cut)
