"""Leaderboards, verdicts, the rows x variants matrix and confusion matrices, from stored cells.

With K samples per row, a row's answer is its majority answer (ties go to the
earliest sample), its score is that answer's score, and its agreement is the
share of samples equal to the majority; consistency is the mean agreement.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import partial

import numpy as np
import pandas as pd

from core.evals.purpose import dynamic_names, is_dynamic  # noqa: F401  (read from here too)
from core.evals.scorer_summary import extras, memoised, run_scorer
from core.evals.stats import bootstrap_ci, compare_paired, percentile
from core.evals.store import cells_frame, get_run

INVALID_LABEL = "(invalid)"


def row_results(cells: pd.DataFrame) -> pd.DataFrame:
    """One line per (model, variant, row): majority answer, score, passed, agreement."""
    out = []
    for (model, variant, row_id), g in cells.groupby(["model_id", "variant", "row_id"], sort=True):
        g = g.sort_values("sample")
        answers = [p if p is not None and e is None else INVALID_LABEL
                   for p, e in zip(g["parsed"], g["error_kind"], strict=True)]
        counts = Counter(answers)
        top = max(counts.values())
        majority = next(a for a in answers if counts[a] == top)
        chosen = g[[a == majority for a in answers]]
        out.append({
            "model_id": model, "variant": variant, "row_id": int(row_id), "answer": majority,
            "output": chosen["output"].iloc[0], "score": float(chosen["score"].mean()),
            "passed": bool(chosen["passed"].iloc[0]), "agreement": top / len(answers),
            "samples": len(answers),
        })
    return pd.DataFrame(out)


def entry_stats(model: str, variant: str, rows: pd.DataFrame, cells: pd.DataFrame) -> dict:
    """The leaderboard numbers of one (model, variant): its `row_results` lines and its cells.

    The score is the mean row score with a bootstrap interval; consistency (with several
    samples) the mean agreement; latency, tokens and cost are per cell.
    """
    score, lo, hi = bootstrap_ci(rows["score"].to_numpy())
    cost = cells["cost_usd"]
    return {
        "model": model, "name": variant, "n": int(len(rows)), "score": score,
        "ci_low": lo, "ci_high": hi,
        "consistency": float(rows["agreement"].mean()) if int(rows["samples"].max()) > 1
        else None,
        "invalid_rate": float(cells["error_kind"].notna().mean()),
        "latency_p50_ms": percentile(cells["latency_s"] * 1000, 50),
        "latency_p95_ms": percentile(cells["latency_s"] * 1000, 95),
        "input_tokens_mean": float(cells["input_tokens"].mean()),
        "output_tokens_mean": float(cells["output_tokens"].mean()),
        "cost_per_1k_usd": None if cost.isna().any() else float(cost.mean() * 1000),
    }


def leaderboard(ws, run_id: int) -> list[dict]:
    """Per model and variant: the public leaderboard keys, best score first; `corpus` (e.g.
    corpus BLEU) and `beside` (e.g. ROUGE-L next to chrF) where the scorer has them."""
    run = get_run(ws, run_id)
    cells = cells_frame(ws, run_id)
    if cells.empty:
        return []
    rows = row_results(cells)
    task = _task(ws, run)
    key = (str(ws.settings.db_path), run_id, run.get("created_at"))
    choice = memoised(key, partial(run_scorer, ws, run, task))  # config and rows: fixed
    tput = _throughput(ws, run_id)
    board = []
    for (model, variant), g in cells.groupby(["model_id", "variant"], sort=False):
        r = rows[(rows["model_id"] == model) & (rows["variant"] == variant)]
        entry = {**entry_stats(model, variant, r, g),
                 "throughput_rows_s": tput.get((model, variant))}
        if task == "scale":
            entry["mae"] = _mae(ws, run, r)
        entry.update(memoised((*key, model, variant, len(g)), partial(
            extras, choice["scorer"], choice["refs"], list(r["row_id"]), list(r["output"]))))
        board.append(entry)
    board.sort(key=lambda e: (-(e["score"] if not math.isnan(e["score"]) else -1), e["name"]))
    return board


def scorer_choice(ws, run_id: int) -> dict:
    """{"scorer", "scorer_reason", "direction"}: the scorer a run used, and why."""
    run = get_run(ws, run_id)
    c = run_scorer(ws, run, _task(ws, run))
    return {k: c[k] for k in ("scorer", "scorer_reason", "direction")}


def _throughput(ws, run_id: int) -> dict[tuple[str, str], float]:
    """Rows per second of machine time per (model, variant): 1 / mean compute seconds a row.

    A batched row's compute time is its share of the batch, so this is the rate a batch
    run sustains, shown beside the latency one request alone waits.
    """
    rows = ws.db.query(
        "SELECT c.model_id, c.variant, AVG(COALESCE(k.compute_s, c.latency_s)) AS s "
        "FROM eval_cells c JOIN eval_cache k ON k.key = c.cache_key WHERE c.run_id = ? "
        "GROUP BY c.model_id, c.variant", (run_id,))
    return {(r["model_id"], r["variant"]): 1.0 / r["s"] for r in rows if r["s"]}


def verdict(ws, run_id: int, board: list[dict] | None = None) -> dict | None:
    """Paired test between the top two entries on the rows both answered."""
    board = board if board is not None else leaderboard(ws, run_id)
    if len(board) < 2:
        return None
    a, b = board[0], board[1]
    rows = row_results(cells_frame(ws, run_id))

    def scores(e):
        r = rows[(rows["model_id"] == e["model"]) & (rows["variant"] == e["name"])]
        return r.set_index("row_id")["score"]

    sa, sb = scores(a), scores(b)
    common = sa.index.intersection(sb.index)
    label = (lambda e: e["name"]) if a["model"] == b["model"] else (
        lambda e: e["model"] if a["name"] == b["name"] else f"{e['model']} / {e['name']}")
    return compare_paired(label(a), sa.loc[common].to_numpy(), label(b), sb.loc[common].to_numpy())


def dynamic_gains(ws, run_id: int, board: list[dict] | None = None) -> list[dict]:
    """Each dynamic variant against the best static variant of the same model, paired on the
    rows both answered; best dynamic entry first. Empty when no model ran both kinds."""
    cfg = get_run(ws, run_id)["config"]
    board = board if board is not None else leaderboard(ws, run_id)
    dynamic = dynamic_names(cfg)
    rows = row_results(cells_frame(ws, run_id)) if board else pd.DataFrame()
    out = []
    for e in (e for e in board if e["name"] in dynamic):
        static = next((s for s in board if s["model"] == e["model"]
                       and s["name"] not in dynamic), None)
        if static is None:
            continue
        mine = rows[rows["model_id"] == e["model"]]
        a = mine[mine["variant"] == e["name"]].set_index("row_id")["score"]
        b = mine[mine["variant"] == static["name"]].set_index("row_id")["score"]
        common = a.index.intersection(b.index)
        comp = compare_paired(e["name"], a.loc[common].to_numpy(), static["name"],
                              b.loc[common].to_numpy())
        out.append({"model": e["model"], "dynamic": e["name"], "static": static["name"],
                    "rows": int(len(common)), **{k: comp[k] for k in (
                        "diff", "diff_ci_low", "diff_ci_high", "p_value", "verdict")}})
    return out


def matrix(ws, run_id: int, data_rows: list[dict] | None = None,
           only_disagreements: bool = False) -> pd.DataFrame:
    """Rows x (model, variant): the answer and pass/fail, optionally only rows that differ."""
    rows = row_results(cells_frame(ws, run_id))
    if rows.empty:
        return pd.DataFrame()
    rows["column"] = np.where(rows["model_id"].nunique() > 1,
                              rows["model_id"] + " / " + rows["variant"], rows["variant"])
    answers = rows.pivot(index="row_id", columns="column", values="answer")
    passed = rows.pivot(index="row_id", columns="column", values="passed")
    out = pd.DataFrame(index=answers.index)
    if data_rows is not None:
        by_id = {r["row_id"]: r for r in data_rows}
        out["input"] = [by_id.get(i, {}).get("input", "") for i in out.index]
        out["target"] = [by_id.get(i, {}).get("target", "") for i in out.index]
    for col in answers.columns:
        out[col] = answers[col]
        out[f"{col} ✓"] = passed[col].map({True: "pass", False: "fail"})
    if only_disagreements and len(answers.columns) > 1:
        out = out[answers.nunique(axis=1) > 1]
    return out


def confusion(ws, run_id: int, variant: str, model: str | None = None,
              targets: dict[int, str] | None = None) -> pd.DataFrame:
    """Counts of (true label, answer) for one variant; invalid outputs get their own column."""
    rows = row_results(cells_frame(ws, run_id))
    r = rows[rows["variant"] == variant]
    if model:
        r = r[r["model_id"] == model]
    if targets is None:
        return pd.DataFrame()
    truth = [targets.get(i, "") for i in r["row_id"]]
    return pd.crosstab(pd.Series(truth, name="true"), pd.Series(list(r["answer"]), name="answer"))


def label_metrics(cm: pd.DataFrame) -> pd.DataFrame:
    """Per-label precision, recall, F1 and support from a confusion table (rows: true label,
    columns: answer; an answer that is no label counts against recall only), worst F1 first.

    >>> cm = pd.DataFrame([[8, 2], [1, 9]], index=["a", "b"], columns=["a", "b"])
    >>> label_metrics(cm)[["label", "precision", "recall"]].round(3).values.tolist()
    [['a', 0.889, 0.8], ['b', 0.818, 0.9]]
    """
    out = []
    for lab in cm.index:
        tp = int(cm.at[lab, lab]) if lab in cm.columns else 0
        support = int(cm.loc[lab].sum())
        predicted = int(cm[lab].sum()) if lab in cm.columns else 0
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        out.append({"label": lab, "precision": p, "recall": r,
                    "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": support})
    return pd.DataFrame(out).sort_values(["f1", "support"], ascending=[True, False],
                                         kind="stable").reset_index(drop=True)


def confused_pairs(cm: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The most frequent (true label, answer) mistakes, most first.

    >>> cm = pd.DataFrame([[8, 2], [5, 9]], index=["a", "b"], columns=["a", "b"])
    >>> confused_pairs(cm).values.tolist()
    [['b', 'a', 5], ['a', 'b', 2]]
    """
    pairs = [{"true label": t, "answered": a, "rows": int(cm.at[t, a])}
             for t in cm.index for a in cm.columns if t != a and cm.at[t, a] > 0]
    if not pairs:
        return pd.DataFrame(columns=["true label", "answered", "rows"])
    return (pd.DataFrame(pairs).sort_values("rows", ascending=False, kind="stable")
            .head(top).reset_index(drop=True))


def _task(ws, run: dict) -> str:
    from core.datasets.versions import get_version

    try:
        return get_version(ws, run["dataset"]).mapping.task
    except Exception:  # the dataset may have been deleted since; the run stays readable
        return "classification"


def _mae(ws, run: dict, r: pd.DataFrame) -> float | None:
    from core.evals.rows import load_rows

    try:
        data = load_rows(ws, run["config"]["dataset"], run["config"]["split"])
    except Exception:
        return None
    target = {row["row_id"]: row["target"] for row in data.rows}
    errs = []
    for rid, ans in zip(r["row_id"], r["answer"], strict=True):
        try:
            errs.append(abs(float(ans) - float(target[rid])))
        except (ValueError, KeyError):
            continue
    return float(np.mean(errs)) if errs else None


def scorer_note(ws, run_id: int) -> str:
    """One line saying which scorer a run's scores come from and, for `auto`, why.

    Reads `ScorerConfig.explain(task, targets)` where the scorer registry provides it, and
    otherwise names the kind `auto` resolves to for the dataset's task.
    """
    from core.evals.scorers import ScorerConfig

    run = get_run(ws, run_id)
    stored = run["config"].get("scorer") or {}
    try:
        cfg = ScorerConfig.model_validate(stored)
    except ValueError:  # a scorer this version no longer knows: name it as stored
        return f"Scorer: {stored.get('kind', 'auto')}."
    task = _task(ws, run)
    if cfg.kind != "auto":
        return f"Scorer: {cfg.kind} (chosen for this run)."
    if not hasattr(cfg, "explain"):
        return f"Scorer: {cfg.resolved(task)} (auto for a {task.replace('_', ' ')} task)."
    from core.evals.export import evaluated_rows

    targets = [r["target"] for r in evaluated_rows(ws, run)]
    return f"Scorer: {cfg.resolved(task, targets)} (auto). {cfg.explain(task, targets)}"
