"""From a comparison run to options, charts' data and a decision.

A comparison is an ordinary evaluation run whose (model, variant) pairs give each
model its own prompt, so a fine-tuned model is measured with its short prompt and
an advanced model with its few-shot one, on the same rows. Per-request cost is the
mean of the measured cells; a fine-tuned model's (or an embedding classifier's)
one-time cost is its measured training time x its hourly hardware cost (plus, for a model
fine-tuned on a teacher's labels, what those labels cost: core.compare.distill).
"""

from __future__ import annotations

import math

from core.compare.cost import Option, finetune_one_time_cost
from core.compare.distill import finetune_job, labelling_cost
from core.errors import LadderError
from core.evals.config import EvalConfig
from core.evals.store import cells_frame, get_run
from core.evals.summary import leaderboard, row_results
from core.models import kinds
from core.prompts.variants import Variant


class CompareError(LadderError):
    """A comparison cannot run; the message says what to fix."""


def check_prices(ws, model_ids: list[str]) -> None:
    """Every model needs prices; a missing price is asked for, never assumed to be zero."""
    if not model_ids:
        raise CompareError("choose at least one model to compare")
    for m in model_ids:
        spec = ws.registry.get(m)
        hosted = kinds.of(spec).hosted
        if hosted and (spec.price_in_per_m is None or spec.price_out_per_m is None):
            raise CompareError(f"'{m}' has no prices; set them with `ladder models edit {m} "
                               "--price-in USD --price-out USD` or on the Models page.")
        if not hosted and spec.hourly_cost is None:
            raise CompareError(f"'{m}' has no hourly hardware cost; set it with `ladder models "
                               f"edit {m} --hourly-cost USD` or on the Models page.")


def comparison_config(dataset: str, model_ids: list[str], variants: list[Variant],
                      variant_for: dict[str, str] | None = None, split: str = "test",
                      limit: int | None = None, name: str = "",
                      truncate: str | None = None) -> EvalConfig:
    """One run: each model with its own variant (default: the first variant for all);
    `truncate` as in EvalConfig."""
    if not model_ids:
        raise CompareError("choose at least one model to compare")
    if not variants:
        raise CompareError("give at least one prompt variant")
    names = {v.name for v in variants}
    variant_for = dict(variant_for or {})
    for m in model_ids:
        variant_for.setdefault(m, variants[0].name)
        if variant_for[m] not in names:
            raise CompareError(f"there is no variant '{variant_for[m]}'; variants: "
                               f"{', '.join(sorted(names))}")
    used = [v for v in variants if v.name in set(variant_for.values())]
    return EvalConfig(name=name or f"compare {', '.join(model_ids)}", dataset=dataset,
                      split=split, limit=limit, models=model_ids, variants=used,
                      pairs=[(m, variant_for[m]) for m in model_ids], truncate=truncate)


def training_cost(ws, model_id: str, prep_hours: float = 0.0, prep_rate: float = 0.0) -> float:
    """One-time cost of a tuned model (an adapter or a fully fine-tuned model: its run's
    measured training time x hourly cost, plus data preparation) or of a model that trains
    when added (an embedding classifier: its training time x hourly cost); else nothing."""
    spec = ws.registry.get(model_id)
    kind = kinds.of(spec)
    if kind.tuned:  # its training, plus the teacher's labels when it learned from those
        seconds = _training_seconds(ws, model_id)
        return (finetune_one_time_cost(seconds, spec.hourly_cost or 0.0, prep_hours, prep_rate)
                + labelling_cost(ws, model_id))
    if kind.train_seconds is not None:
        return finetune_one_time_cost(kind.train_seconds(spec), spec.hourly_cost or 0.0)
    return 0.0


def _training_seconds(ws, model_id: str) -> float:
    """The measured training time (`train_s` of the run's results.json) of the fine-tune that
    made `model_id`; the job's wall time only for a run that recorded none."""
    found = finetune_job(ws, model_id)
    if found is None:
        return 0.0
    job, res = found
    if res.get("train_s") is not None:
        return float(res["train_s"])
    if job.started_at and job.finished_at:
        return float(job.finished_at - job.started_at)
    return 0.0


def options_from_run(ws, run_id: int, prep_hours: float = 0.0,
                     prep_rate: float = 0.0) -> list[Option]:
    board = leaderboard(ws, run_id)
    out = []
    for e in board:
        spec = ws.registry.get(e["model"]) if ws.registry.exists(e["model"]) else None
        cost = e["cost_per_1k_usd"]
        if cost is None:
            raise CompareError(f"'{e['model']}' has cells without a cost; set its prices and "
                               "run the comparison again.")
        out.append(Option(
            name=e["model"], per_request_usd=cost / 1000,
            one_time_usd=training_cost(ws, e["model"], prep_hours, prep_rate) if spec else 0.0,
            score=e["score"], ci_low=e["ci_low"], ci_high=e["ci_high"],
            latency_p50_ms=e["latency_p50_ms"], latency_p95_ms=e["latency_p95_ms"],
            kind=spec.kind if spec else ""))
    return out


def throughput(ws, run_id: int) -> dict[str, float]:
    """Requests per second of machine time per model (1 / mean compute seconds per request).

    A batched local request's compute time is its share of the batch, so this is
    the rate the machine sustains, not one request's latency.
    """
    rows = ws.db.query(
        "SELECT c.model_id, AVG(COALESCE(k.compute_s, c.latency_s)) AS s FROM eval_cells c "
        "JOIN eval_cache k ON k.key = c.cache_key WHERE c.run_id = ? GROUP BY c.model_id",
        (run_id,))
    return {r["model_id"]: (1.0 / r["s"] if r["s"] else math.nan) for r in rows}


def latencies_ms(ws, run_id: int) -> dict[str, list[float]]:
    cells = cells_frame(ws, run_id)
    return {m: list(g["latency_s"] * 1000) for m, g in cells.groupby("model_id")}


def model_significance(ws, run_id: int, a: str, b: str) -> dict | None:
    """Paired test between two models of a comparison run on the rows both answered."""
    from core.evals.stats import compare_paired

    rows = row_results(cells_frame(ws, run_id))
    if rows.empty:
        return None
    sa = rows[rows["model_id"] == a].set_index("row_id")["score"]
    sb = rows[rows["model_id"] == b].set_index("row_id")["score"]
    common = sa.index.intersection(sb.index)
    if len(common) == 0:
        return None
    return compare_paired(a, sa.loc[common].to_numpy(), b, sb.loc[common].to_numpy())


def run_errors(ws, run_id: int) -> dict[str, str]:
    return get_run(ws, run_id)["errors"]
