"""Task scores for fine-tuning: validation score during training, before/after on the test split.

During training the model in memory is scored directly (candidate
log-likelihood for classification, greedy generation otherwise), on up to
`eval_rows` rows. Before/after uses the Prompt Lab engine
(`core.evals.engine.evaluate_variant`) when it is present, so the numbers match
the other rungs; otherwise the same in-process scorer, with the base and the
adapter loaded from the registry like any other model.

Trade-off: the in-process scorer duplicates a little of the engine (no cell
records, no caching) so a training step never waits on the database.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass

from core.models.base import ChatPrompt, GenerationParams


@dataclass
class Scores:
    passed: list[bool]
    answers: list[str]

    @property
    def score(self) -> float | None:
        return sum(self.passed) / len(self.passed) if self.passed else None


def score_backend(backend, prompts: list[ChatPrompt], targets: list[str], task: str,
                  labels: list[str] | None, batch_size: int = 16) -> Scores:
    """Score a LocalBackend-like object (model + tokenizer) on prompts; no gradients."""
    import torch

    if not prompts:
        return Scores([], [])
    model = backend.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if task == "classification" and labels:
                res = backend.score_candidates(prompts, labels, batch_size=batch_size)
                answers = [labels[r.best] for r in res]
                passed = [a.strip() == t.strip() for a, t in zip(answers, targets, strict=True)]
                return Scores(passed, answers)
            longest = max(len(backend.tok(t, add_special_tokens=False)["input_ids"]) for t in targets)
            gens = backend.generate(prompts, GenerationParams(max_new_tokens=min(256, longest + 8)),
                                    batch_size=batch_size)
            outs = [g.text for g in gens]
            return Scores([_passes(o, t, task, labels) for o, t in zip(outs, targets, strict=True)],
                          outs)
    finally:
        if was_training:
            model.train()


def _passes(output: str, target: str, task: str, labels: list[str] | None) -> bool:
    from core.evals import scorers

    if task == "scale":
        return scorers.score_number(output, target, 0.0).passed
    if task == "classification" and labels:
        return scorers.score_label(output, target, labels).passed
    return scorers.normalize(output) == scorers.normalize(target)


def summary(passed: list[bool]) -> dict:
    """n, score and its 95% bootstrap interval (the statistic the Prompt Lab uses)."""
    from core.evals.stats import bootstrap_ci

    if not passed:
        return {"n": 0, "score": None, "ci_low": None, "ci_high": None}
    mean, lo, hi = bootstrap_ci([float(p) for p in passed])
    return {"n": len(passed), "score": mean, "ci_low": lo, "ci_high": hi}


def flipped(rows: list[dict], before: list[bool], after: list[bool], answers_before: list[str],
            answers_after: list[str], limit: int = 200) -> dict:
    """Rows that went from fail to pass and from pass to fail."""
    up, down = [], []
    for r, b, a, ab, aa in zip(rows, before, after, answers_before, answers_after, strict=True):
        rec = {"row": r.get("row_id"), "input": r.get("input", "")[:300], "target": r.get("target"),
               "before": ab, "after": aa}
        if not b and a:
            up.append(rec)
        elif b and not a:
            down.append(rec)
    return {"fail_to_pass": up[:limit], "pass_to_fail": down[:limit],
            "n_fail_to_pass": len(up), "n_pass_to_fail": len(down)}


def engine_available() -> bool:
    try:
        spec = importlib.util.find_spec("core.evals.engine")
    except ModuleNotFoundError:
        return False
    if spec is None:
        return False
    import core.evals.engine as engine

    return hasattr(engine, "evaluate_variant")


def evaluate_model(ws, model_id: str, variant, rows: list[dict], task: str,
                   labels: list[str] | None, train_rows: list[dict] | None = None
                   ) -> tuple[dict, list[bool], list[str]]:
    """(summary, passed per row, answer per row) for a registered model on `rows`."""
    if engine_available():
        from core.evals.engine import evaluate_variant

        result = evaluate_variant(ws, model_id, variant, rows, task=task, labels=labels or [],
                                  train_rows=train_rows,
                                  scoring="auto", samples=1, temperature=0.0, seed=0)
        cells = sorted(result.cells, key=lambda c: _get(c, "row", _get(c, "row_id", 0)))
        by_row = {_get(c, "row", _get(c, "row_id", None)): c for c in cells}
        passed, answers = [], []
        for i, r in enumerate(rows):
            c = by_row.get(r.get("row_id"), by_row.get(i))
            passed.append(bool(_get(c, "passed", False)) if c is not None else False)
            answers.append(str(_get(c, "parsed", "") or "") if c is not None else "")
        summ = dict(result.summary)
        summ.setdefault("n", len(rows))
        return summ, passed, answers
    from core.models.local import load_backend
    from core.prompts.variants import render_variant

    spec = ws.registry.get(model_id)
    backend = load_backend(spec, ws.settings, ws.registry)
    prompts = [render_variant(variant, r, context=r.get("context", ""), labels=labels)
               for r in rows]
    sc = score_backend(backend, prompts, [r["target"] for r in rows], task, labels,
                       batch_size=ws.settings.batch_size)
    return summary(sc.passed), sc.passed, sc.answers


def _get(obj, key, default=None):
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def before_after(ws, base_id: str, tuned_id: str, variant, rows: list[dict], task: str,
                 labels: list[str] | None, progress=None,
                 train_rows: list[dict] | None = None) -> dict:
    """Base vs fine-tuned on the same rows and prompt: scores with intervals and flipped rows."""
    say = progress or (lambda _m: None)
    say(f"Scoring the base model {base_id} on {len(rows)} test rows")
    b_sum, b_pass, b_ans = evaluate_model(ws, base_id, variant, rows, task, labels, train_rows)
    say(f"Scoring the fine-tuned model {tuned_id}")
    t0 = time.perf_counter()
    a_sum, a_pass, a_ans = evaluate_model(ws, tuned_id, variant, rows, task, labels, train_rows)
    out = {"before": {**b_sum, "model_id": base_id}, "after": {**a_sum, "model_id": tuned_id},
           "flipped": flipped(rows, b_pass, a_pass, b_ans, a_ans),
           "after_s_per_row": (time.perf_counter() - t0) / max(1, len(rows))}
    try:
        from core.evals.stats import mcnemar_exact

        _b, _c, p = mcnemar_exact(b_pass, a_pass)
        out["p_value"] = p
    except (ImportError, ValueError, TypeError):
        pass
    return out
