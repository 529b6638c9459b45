"""What the evidence says so far, rung by rung, for one dataset.

Each section reads the newest finished records (quality report, Prompt Lab run,
dynamic-prompt run, comparison run, fine-tune run) and states its result in a
sentence; a rung with no record yet says so instead of guessing.
"""

from __future__ import annotations

import json
import math

from core.compare.decision import Requirements, decide, is_tuned
from core.compare.distill import distillation
from core.compare.service import (
    model_significance,
    options_from_run,
    run_errors,
    throughput,
)
from core.evals.store import get_run, list_runs
from core.evals.summary import dynamic_gains, leaderboard, verdict
from core.models import kinds
from core.report.data_history import data_section

MODEL_KEYS = ("model", "kind", "variant", "n", "score", "ci_low", "ci_high", "consistency",
              "invalid_rate", "latency_p50_ms", "latency_p95_ms", "input_tokens_mean", "output_tokens_mean",
              "cost_per_request_usd", "cost_per_1k_usd", "throughput_rps")


def compare_summary(ws, run_id: int, req: Requirements, prep_hours: float = 0.0,
                    prep_rate: float = 0.0) -> dict:
    """Per model: score, CI, latency, cost; the decision and the break-even volume."""
    board = leaderboard(ws, run_id)
    tput = throughput(ws, run_id)
    models = []
    for e in board:
        cost = e["cost_per_1k_usd"]
        kind = ws.registry.get(e["model"]).kind if ws.registry.exists(e["model"]) else None
        reads_prompt = (k := kinds.find(kind)) is None or k.prompted
        models.append({
            "model": e["model"], "kind": kind,
            "variant": e["name"] if reads_prompt else None,  # a classifier reads no prompt
            "n": e["n"], "score": e["score"],
            "ci_low": e["ci_low"], "ci_high": e["ci_high"], "consistency": e["consistency"],
            "invalid_rate": e["invalid_rate"], "latency_p50_ms": e["latency_p50_ms"],
            "latency_p95_ms": e["latency_p95_ms"], "input_tokens_mean": e["input_tokens_mean"],
            "output_tokens_mean": e["output_tokens_mean"],
            "cost_per_request_usd": None if cost is None else cost / 1000,
            "cost_per_1k_usd": cost, "throughput_rps": tput.get(e["model"], math.nan)})
    options = options_from_run(ws, run_id, prep_hours, prep_rate)
    sig = (model_significance(ws, run_id, board[0]["model"], board[1]["model"])
           if len(board) > 1 else None)
    task, train_rows = _task_and_train(ws, get_run(ws, run_id)["dataset"])
    decision = decide(options, req, significance=sig, task=task, train_rows=train_rows)
    return {"run_id": run_id, "models": models, "recommendation": decision.record()[
        "recommendation"], "break_even_requests_per_month": _headline_break_even(decision,
                                                                                 options),
            "decision": decision.record(), "basis": decision.record()["basis"],
            "value": decision.value, "errors": run_errors(ws, run_id),
            "volume_per_month": req.volume_per_month,
            "distillation": distillation(ws, run_id, options, req.horizon_months)}


def _headline_break_even(decision, options) -> float | None:
    """The fine-tuned option's break-even against the advanced one (else the recommended's)."""
    tuned = {o.name for o in options if is_tuned(o)}
    rec = decision.recommended.name if decision.recommended else None
    for b in decision.break_even:
        if b["option"] in tuned:
            return b["requests_per_month"]
    for b in decision.break_even:
        if b["option"] == rec:
            return b["requests_per_month"]
    return None


def _task_and_train(ws, dataset: str) -> tuple[str, int]:
    try:
        from core.datasets.versions import get_split, get_version

        v = get_version(ws, dataset)
        sp = get_split(ws, v)
        return v.mapping.task, (sp.sizes()["train"] if sp is not None else 0)
    except Exception:  # a deleted dataset leaves its runs readable
        return "classification", 0


def _runs(ws, dataset: str) -> list[dict]:
    out = []
    for r in list_runs(ws, dataset):
        if r["status"] != "done":
            continue
        out.append(get_run(ws, r["id"]))
    return out


def ladder_summary(ws, dataset: str, req: Requirements | None = None) -> dict:
    """Every rung's newest result for `dataset`, and the recommendation."""
    req = req or Requirements(10_000)
    runs = _runs(ws, dataset)
    out: dict = {"dataset": dataset, "data": data_section(ws, dataset)}
    lab = latest_lab_run(runs)
    out["prompt_lab"] = _lab_section(ws, lab) if lab else None
    dyn = next((r for r in runs if r["purpose"] == "dynamic"), None)
    out["dynamic"] = _dynamic_section(ws, dyn) if dyn else None
    comp = next((r for r in runs if r["purpose"] == "comparison"
                 and len(r["config"]["models"]) > 1), None)
    out["comparison"] = compare_summary(ws, comp["id"], req) if comp else None
    out["finetune"] = _finetune_section(ws, dataset)
    out["recommendation"] = (out["comparison"]["decision"]["reason"] if out["comparison"] else
                             "Run a model comparison (rung 3) to get a recommendation.")
    return out


def latest_lab_run(runs: list[dict]) -> dict | None:
    """The newest finished run that compared prompt variants (purpose prompt_lab with more than
    one variant), else the newest prompt_lab run; never a held-out check of a fine-tuned model,
    a dynamic run or a comparison. `runs` newest first, as `_runs` gives them."""
    lab = [r for r in runs if r["purpose"] == "prompt_lab"]
    return next((r for r in lab if len(r["config"]["variants"]) > 1), lab[0] if lab else None)


def _lab_section(ws, run: dict) -> dict:
    board = leaderboard(ws, run["id"])
    comp = verdict(ws, run["id"], board)
    return {"run_id": run["id"], "model": run["model_id"], "purpose": run["purpose"],
            "best": board[0] if board else None, "variants": board,
            "verdict": comp["verdict"] if comp else None,
            "labels": _label_section(ws, run, board[0]) if board else None}


MANY_LABELS = 20  # past this, the report lists per-label scores and the confused pairs


def _label_section(ws, run: dict, best: dict) -> dict | None:
    """The best variant's weakest labels and most confused pairs, for many-label sets."""
    from core.evals.rows import load_rows
    from core.evals.summary import confused_pairs, confusion, label_metrics

    try:
        data = load_rows(ws, run["config"]["dataset"], run["config"]["split"])
    except Exception:  # the dataset may have been deleted since; the run stays readable
        return None
    if data.task != "classification" or len(data.labels) <= MANY_LABELS:
        return None
    cm = confusion(ws, run["id"], best["name"], best["model"],
                   {r["row_id"]: r["target"] for r in data.rows})
    if cm.empty:
        return None
    return {"variant": best["name"], "labels": len(data.labels),
            "worst": label_metrics(cm).head(10).to_dict("records"),
            "confused": confused_pairs(cm, 10).to_dict("records")}


def _dynamic_section(ws, run: dict) -> dict:
    """The best dynamic variant against the static one of the same model, on the same rows."""
    board = leaderboard(ws, run["id"])
    out = {"run_id": run["id"], "variants": board, "gain": None, "verdict": None}
    gains = [g for g in dynamic_gains(ws, run["id"], board) if g["diff"] is not None]
    if gains:
        g = gains[0]
        out.update(gain=g["diff"], gain_ci=[g["diff_ci_low"], g["diff_ci_high"]],
                   verdict=g["verdict"], dynamic=g["dynamic"], static=g["static"],
                   model=g["model"])
    return out


def _finetune_section(ws, dataset: str) -> dict | None:
    from core.finetune.service import list_runs as ft_runs

    for r in ft_runs(ws):
        if r.get("dataset") == dataset and r.get("status") in ("succeeded", "stopped_early"):
            return {k: r.get(k) for k in ("run_id", "model_id", "base_model", "before", "after",
                                          "flipped", "p_value", "status")}
    return None


def dumps(summary: dict) -> str:
    return json.dumps(summary, indent=2, default=str)
