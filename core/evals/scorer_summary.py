"""Which scorer a run used and why, and the figures shown beside its per-row mean.

Nothing here is stored: the scorer is resolved again from the run's config and the
references of its rows (the same rule the run used), the corpus score (e.g. corpus
BLEU) and the companion metrics (ROUGE-L beside chrF) are computed from the stored
outputs. Trade-off: a run whose dataset was deleted shows no reason and no extras;
results are memoised (the choice per run, the extras per entry and cell count), so a
page redraw costs nothing.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from core.evals import scorers as sc
from core.evals.rows import references

_memo: OrderedDict[tuple, dict] = OrderedDict()


def _rows_of(ws, cfg: dict) -> list[dict] | None:
    from core.evals.rows import load_rows

    try:
        return load_rows(ws, cfg["dataset"], cfg.get("split", "test"), limit=cfg.get("limit"),
                         seed=cfg.get("seed", 0)).rows
    except Exception:  # the dataset may have been deleted or re-split since
        return None


def run_scorer(ws, run: dict, task: str) -> dict:
    """{"scorer", "scorer_reason", "direction", "refs"}: refs maps row_id -> references
    (None when the scorer reads no references or the rows cannot be read)."""
    scorer = sc.ScorerConfig.model_validate(run["config"].get("scorer") or {})
    needs_rows = scorer.kind == "auto" and task == "free_text"
    kind = scorer.resolved(task)
    info = sc.get(kind)
    rows = None
    if needs_rows or info.corpus or info.beside:
        rows = _rows_of(ws, run["config"])
    targets = references(rows) if rows is not None else None
    if needs_rows:
        if rows is None:
            return {"scorer": "auto", "scorer_reason": "the dataset's rows cannot be read, so "
                    "the scorer auto chose is unknown", "direction": "max", "refs": None}
        kind = scorer.resolved(task, targets)
        info = sc.get(kind)
    return {"scorer": kind, "scorer_reason": scorer.explain(task, targets),
            "direction": info.direction,
            "refs": ({r["row_id"]: t for r, t in zip(rows, targets, strict=True)}
                     if rows is not None else None)}


def extras(kind: str, refs: dict[int, list[str]] | None, row_ids, outputs) -> dict:
    """{"corpus": {...} | None, "beside": {name: mean} | None} for one leaderboard entry."""
    info = sc.get(kind)
    if refs is None or not (info.corpus or info.beside):
        return {"corpus": None, "beside": None}
    pairs = [(o or "", refs[i]) for i, o in zip(row_ids, outputs, strict=True) if i in refs]
    if not pairs:
        return {"corpus": None, "beside": None}
    outs, ref = [p[0] for p in pairs], [p[1] for p in pairs]
    beside = {}
    for name in info.beside:
        scored = sc.score_outputs(name, outs, ref, config=sc.ScorerConfig())
        beside[name] = float(np.mean([s.score for s in scored]))
    return {"corpus": sc.corpus_score(kind, outs, ref), "beside": beside or None}


def memoised(key: tuple, compute) -> dict:
    """compute() once per key, the last 64 kept."""
    if key in _memo:
        _memo.move_to_end(key)
        return _memo[key]
    value = compute()
    _memo[key] = value
    while len(_memo) > 64:
        _memo.popitem(last=False)
    return value
