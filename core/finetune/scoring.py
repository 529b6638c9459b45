"""Task scores for fine-tuning: validation score during training, before/after on the test split.

During training the model in memory is scored directly (candidate log-likelihood for
classification, generation with the engine's decoding otherwise) on a few validation
rows, with the run's scorer (core.finetune.metric): a per-row score in [0, 1] whose mean
is `val_score`. Before/after runs the Prompt Lab engine (`evaluate_variant`) for the base
and the fine-tuned model on the same test rows and prompt, so its numbers match the
other rungs; it keeps every row's scores, a few rows' outputs side by side, the rows
that improved and worsened most, and the paired test the Prompt Lab uses
(`core.evals.stats.compare_paired`: exact McNemar on pass/fail, a paired permutation
test on graded scores).

Trade-off: the in-process scorer duplicates a little of the engine (no cell records, no
caching) so a training step never waits on the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.finetune.metric import score_texts
from core.models.base import GenerationParams

SAMPLES = 5  # test rows shown with both outputs
MOST_CHANGED = 5  # rows listed among the most improved and the most worsened


@dataclass
class Scores:
    scores: list[float]
    answers: list[str]
    passed: list[bool] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None


@dataclass(frozen=True)
class Validator:
    """How a run scores the model in memory: scorer, decoding, labels."""

    task: str
    kind: str  # the resolved scorer (core.finetune.metric.resolve)
    params: GenerationParams
    labels: list[str] | None = None


def score_backend(backend, prompts, references: list[list[str]], how: Validator,
                  batch_size: int = 16) -> Scores:
    """Score a LocalBackend-like object (model + tokenizer) on prompts; no gradients."""
    import torch

    if not prompts:
        return Scores([], [])
    model = backend.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if how.task == "classification" and how.labels:
                res = backend.score_candidates(prompts, how.labels, batch_size=batch_size)
                outs = [how.labels[r.best] for r in res]
            else:
                gens = backend.generate(prompts, how.params, batch_size=batch_size)
                outs = [g.text for g in gens]
    finally:
        if was_training:
            model.train()
    scored = score_texts(how.kind, outs, references, labels=how.labels)
    return Scores([float(s.score) for s in scored], outs, [bool(s.passed) for s in scored])


def summary(scores: list[float]) -> dict:
    """n, mean score and its 95% bootstrap interval (the statistic the Prompt Lab uses)."""
    from core.evals.stats import bootstrap_ci

    if not scores:
        return {"n": 0, "score": None, "ci_low": None, "ci_high": None}
    mean, lo, hi = bootstrap_ci([float(p) for p in scores])
    return {"n": len(scores), "score": mean, "ci_low": lo, "ci_high": hi}


def _rec(r: dict, b: dict, a: dict) -> dict:
    refs = r.get("targets") or [r.get("target")]
    return {"row": r.get("row_id"), "input": str(r.get("input", ""))[:300],
            "target": refs[0], "references": len(refs), "before": b["output"],
            "after": a["output"], "before_score": b["score"], "after_score": a["score"],
            "change": a["score"] - b["score"]}


def flipped(rows: list[dict], before: list[dict], after: list[dict], limit: int = 200) -> dict:
    """Rows that went from fail to pass and from pass to fail."""
    up, down = [], []
    for r, b, a in zip(rows, before, after, strict=True):
        if not b["passed"] and a["passed"]:
            up.append(_rec(r, b, a))
        elif b["passed"] and not a["passed"]:
            down.append(_rec(r, b, a))
    return {"fail_to_pass": up[:limit], "pass_to_fail": down[:limit],
            "n_fail_to_pass": len(up), "n_pass_to_fail": len(down)}


def changed(rows: list[dict], before: list[dict], after: list[dict],
            most: int = MOST_CHANGED) -> dict:
    """Per-row score changes: the rows that improved and worsened most, and how many did.

    >>> rows = [{"row_id": i, "input": str(i), "target": "t"} for i in range(3)]
    >>> b = [{"output": "x", "score": s} for s in (0.2, 0.5, 0.9)]
    >>> a = [{"output": "y", "score": s} for s in (0.6, 0.5, 0.7)]
    >>> c = changed(rows, b, a)
    >>> c["n_improved"], c["n_worsened"], c["n_same"], c["improved"][0]["row"]
    (1, 1, 1, 0)
    """
    recs = [_rec(r, b, a) for r, b, a in zip(rows, before, after, strict=True)]
    up = sorted((x for x in recs if x["change"] > 1e-9), key=lambda x: -x["change"])
    down = sorted((x for x in recs if x["change"] < -1e-9), key=lambda x: x["change"])
    return {"improved": up[:most], "worsened": down[:most], "n_improved": len(up),
            "n_worsened": len(down), "n_same": len(recs) - len(up) - len(down)}


def evaluate_model(ws, model_id: str, variant, rows: list[dict], task: str,
                   labels: list[str] | None, scorer: str,
                   train_rows: list[dict] | None = None) -> tuple[dict, list[dict]]:
    """(summary, one cell per row in `rows` order) for a registered model, via the engine."""
    from core.evals.scorers import ScorerConfig
    from core.evals.variant import evaluate_variant

    result = evaluate_variant(ws, model_id, variant, rows, task=task, labels=labels or [],
                              train_rows=train_rows, scoring="auto", samples=1,
                              temperature=0.0, seed=0, scorer=ScorerConfig(kind=scorer),
                              check=False)  # the plan checked prompt + answer lengths
    by_row = {c["row_id"]: c for c in result.cells if c.get("sample", 0) == 0}
    cells = []
    for r in rows:
        c = by_row.get(r["row_id"]) or {}
        cells.append({"output": str(c.get("output") or ""), "score": float(c.get("score") or 0.0),
                      "passed": bool(c.get("passed")), "error_kind": c.get("error_kind")})
    summ = dict(result.summary)
    summ.setdefault("n", len(rows))
    return summ, cells


def before_after(ws, base_id: str, tuned_id: str, variant, rows: list[dict], task: str,
                 labels: list[str] | None, scorer: str, progress=None,
                 train_rows: list[dict] | None = None) -> dict:
    """Base vs fine-tuned on the same rows, prompt and scorer: scores with intervals, the
    paired test, every row's two scores, a few rows' outputs and the rows that changed."""
    from core.evals.stats import compare_paired

    say = progress or (lambda _m: None)
    say(f"Scoring the base model {base_id} on {len(rows)} test rows ({scorer})")
    t0 = time.perf_counter()
    b_sum, b_cells = evaluate_model(ws, base_id, variant, rows, task, labels, scorer, train_rows)
    t1 = time.perf_counter()
    say(f"Scoring the fine-tuned model {tuned_id}")
    a_sum, a_cells = evaluate_model(ws, tuned_id, variant, rows, task, labels, scorer,
                                    train_rows)
    n = max(1, len(rows))
    a_scores, b_scores = [c["score"] for c in a_cells], [c["score"] for c in b_cells]
    cmp = compare_paired("fine-tuned", a_scores, "base", b_scores)
    graded = not set(a_scores + b_scores) <= {0.0, 1.0}
    recs = [_rec(r, b, a) for r, b, a in zip(rows, b_cells, a_cells, strict=True)]
    return {
        "before": {**b_sum, "model_id": base_id}, "after": {**a_sum, "model_id": tuned_id},
        "scorer": scorer, "graded": graded,
        "flipped": flipped(rows, b_cells, a_cells), "changed": changed(rows, b_cells, a_cells),
        "samples": recs[:SAMPLES],
        "rows": [{"row": x["row"], "before_score": x["before_score"],
                  "after_score": x["after_score"]} for x in recs],
        "comparison": {k: cmp[k] for k in ("test", "p_value", "diff", "diff_ci_low",
                                           "diff_ci_high", "significant", "verdict")},
        "p_value": cmp["p_value"],
        "before_s_per_row": (t1 - t0) / n, "after_s_per_row": (time.perf_counter() - t1) / n,
    }
