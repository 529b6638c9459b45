"""A finished run beside the cheaper rungs, on the run's own test rows.

Before/after answers "did training help the base?"; an analyst also asks "is it better than
what I already have?". `head_to_head` puts the fine-tuned model beside the dataset's best
prompted variant (the best (model, variant) of the finished Prompt Lab, dynamic and
comparison runs on the same split, scored with the same scorer) and the dataset's embedding
classifier, each on the test rows it shares with the run, with the 95% interval of each
score and the paired test of the run against it (the Prompt Lab's statistics).

Rows are matched by their input and reference, not by id: an evaluation may have run on
another version of the dataset (a conflict fix makes a new version; a given test file keeps
its rows, but not necessarily their ids). A prompted variant that shares fewer than
MIN_SHARED rows with the run is left out: its comparison would say nothing.
"""

from __future__ import annotations

from collections.abc import Callable

MIN_SHARED = 20
MAX_EVAL_RUNS = 20  # the newest finished runs of the dataset; older ones are not read


def _stats(scores: list[float]) -> dict:
    from core.evals.stats import bootstrap_ci

    mean, lo, hi = bootstrap_ci([float(s) for s in scores])
    return {"score": mean, "ci_low": lo, "ci_high": hi, "n": len(scores)}


def entry(what: str, model_id: str, mine: dict[int, float], theirs: dict[int, float],
          **extra) -> dict:
    """One line of the table: `theirs` on the rows shared with the run, and the paired test
    of the run (`mine`, by row id) against it on those rows."""
    from core.evals.stats import compare_paired

    shared = [r for r in mine if r in theirs]
    a, b = [mine[r] for r in shared], [theirs[r] for r in shared]
    cmp = compare_paired("the fine-tuned model", a, what, b)
    return {"what": what, "model_id": model_id, **extra, **_stats(b),
            "run_score": _stats(a)["score"],
            **{k: cmp[k] for k in ("diff", "diff_ci_low", "diff_ci_high", "p_value", "test",
                                   "significant", "verdict")}}


def _version_keys(ws, dataset: str, version_hash: str, split: str) -> dict[int, tuple]:
    """row id -> (input, target) for one version's split ({} when the version is gone)."""
    from core.datasets.versions import list_versions
    from core.errors import LadderError
    from core.evals.rows import load_rows

    try:
        number = next(v.number for v in list_versions(ws, dataset) if v.hash == version_hash)
        rows = load_rows(ws, dataset, split, version=number).rows
    except (StopIteration, LadderError):
        return {}
    return {int(r["row_id"]): (r["input"], r["target"]) for r in rows}


def best_prompted(ws, dataset: str, split: str, scorer: str, rows: list[dict],
                  mine: dict[int, float]) -> dict | None:
    """The prompted (model, variant) with the best mean score on the rows it shares with the
    run, among the dataset's newest finished evaluations; None when none shares enough."""
    from core.evals.store import cells_frame, list_runs
    from core.evals.summary import row_results, scorer_choice
    from core.models.kinds import of

    by_text = {(r["input"], r["target"]): int(r["row_id"]) for r in rows}
    prompted: dict[str, bool] = {}
    best = None
    runs = [r for r in list_runs(ws, dataset, purpose=("prompt_lab", "dynamic", "comparison"))
            if r["status"] == "done"][:MAX_EVAL_RUNS]
    for run in runs:
        vh = ws.db.query("SELECT version_hash, split FROM eval_runs WHERE id = ?", (run["id"],))
        if not vh or vh[0]["split"] != split or scorer_choice(ws, run["id"])["scorer"] != scorer:
            continue
        keys = _version_keys(ws, dataset, vh[0]["version_hash"], split)
        to_mine = {rid: by_text[k] for rid, k in keys.items() if k in by_text}
        results = row_results(cells_frame(ws, run["id"]))
        if results.empty:
            continue
        for (model, variant), g in results.groupby(["model_id", "variant"], sort=False):
            if model not in prompted:
                prompted[model] = ws.registry.exists(model) and of(ws.registry.get(model)).prompted
            if not prompted[model]:
                continue
            theirs = {to_mine[int(r)]: float(s) for r, s in zip(g["row_id"], g["score"],
                                                                 strict=True)
                      if int(r) in to_mine}
            if len(theirs) < min(MIN_SHARED, len(mine)):
                continue
            mean = sum(theirs.values()) / len(theirs)
            if best is None or mean > best[0]:
                best = (mean, run["id"], model, variant, theirs)
    if best is None:
        return None
    _, run_id, model, variant, theirs = best
    return entry("best prompted variant", model, mine, theirs, variant=variant,
                 eval_run=run_id)


def find_classifier(ws, dataset: str, version_hash: str) -> str | None:
    """The registered embedding classifier of this dataset version, if there is one."""
    from core.models.classifier import classifier_meta
    from core.models.kinds import of

    for s in ws.registry.list():
        if not of(s).prompted and not of(s).tuned:
            meta = classifier_meta(s)
            if meta.get("dataset") == dataset and meta.get("version_hash") == version_hash:
                return s.id
    return None


def head_to_head(ws, cfg, data, rows: list[dict], ba: dict, baseline: str,
                 score_model: Callable[[str], list[float]]) -> dict:
    """The run (`ba` from before_after, whose before is `baseline`) beside the best prompted
    variant and the embedding classifier, on the run's test rows. `score_model(id)` scores a
    model on `rows` (only called for a classifier that is not already the baseline)."""
    ids = [int(r["row_id"]) for r in rows]
    mine = {i: float(x["after_score"]) for i, x in zip(ids, ba["rows"], strict=True)}
    out = {"rows": len(ids), "scorer": ba.get("scorer"), "run": {
        "what": "the fine-tuned model", "model_id": ba["after"]["model_id"], **_stats(
            list(mine.values()))}, "others": [], "missing": []}
    prompted = best_prompted(ws, cfg.dataset, cfg.test_split, ba.get("scorer") or "", rows,
                             mine)
    if prompted:
        out["others"].append(prompted)
    else:
        out["missing"].append("No prompted variant of this dataset was scored on these test "
                              "rows with the same scorer: run the Prompt Lab on the test split "
                              "to see one here.")
    if data.task == "classification":
        clf = find_classifier(ws, cfg.dataset, cfg.dataset_hash)
        if clf and clf == baseline:
            theirs = {i: float(x["before_score"]) for i, x in zip(ids, ba["rows"], strict=True)}
        elif clf:
            theirs = dict(zip(ids, score_model(clf), strict=True))
        if clf:
            out["others"].append(entry("embedding classifier", clf, mine, theirs))
        else:
            out["missing"].append("This dataset version has no embedding classifier yet: add "
                                  "one on the Models page or with `ladder models add "
                                  "--classifier` to see it here.")
    if not any(o["model_id"] == baseline for o in out["others"]):
        theirs = {i: float(x["before_score"]) for i, x in zip(ids, ba["rows"], strict=True)}
        out["others"].append(entry("base model", baseline, mine, theirs))
    return out
