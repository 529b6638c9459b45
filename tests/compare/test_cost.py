"""Cost arithmetic, break-even and the decision, on hand-computed cases."""

from __future__ import annotations

import pytest

from core.compare.cost import (
    Option,
    break_even_volume,
    cost_curve,
    finetune_one_time_cost,
    hosted_per_request,
    local_per_request,
    pareto_frontier,
)
from core.compare.decision import Requirements, decide

# An advanced hosted model: 600 input + 10 output tokens at $2.50 / $10 per 1M tokens
BIG = Option("big", hosted_per_request(600, 10, 2.5, 10.0), score=0.92, ci_low=0.88,
             ci_high=0.95, latency_p50_ms=700, latency_p95_ms=1500, kind="openai")
# A fine-tuned small model: 0.05 s of a $0.72/h machine per request; trained 1 h on it
TUNED = Option("tuned", local_per_request(0.05, 0.72), one_time_usd=finetune_one_time_cost(
    3600, 0.72, prep_hours=2, prep_rate=30), score=0.90, ci_low=0.86, ci_high=0.93,
    latency_p50_ms=40, latency_p95_ms=60, kind="adapter")


def test_per_request_costs_by_hand():
    assert BIG.per_request_usd == pytest.approx((600 * 2.5 + 10 * 10) / 1e6)  # 0.0016
    assert TUNED.per_request_usd == pytest.approx(0.05 / 3600 * 0.72)  # 0.00001
    assert TUNED.one_time_usd == pytest.approx(0.72 + 60)
    assert local_per_request(1.0, 3.6, concurrency=4) == pytest.approx(0.00025)


def test_break_even_by_hand():
    # 12-month horizon: (60.72 / 12) / (0.0016 - 0.00001) = 5.06 / 0.00159 = 3182.39
    v = break_even_volume(BIG, TUNED, 12)
    assert v == pytest.approx(5.06 / 0.00159, rel=1e-6)
    at = v
    assert BIG.monthly_cost(at) == pytest.approx(TUNED.monthly_cost(at, 12))
    assert TUNED.monthly_cost(at * 1.1) < BIG.monthly_cost(at * 1.1)
    assert TUNED.monthly_cost(at * 0.9) > BIG.monthly_cost(at * 0.9)
    # a longer horizon spreads the one-time cost: break-even halves at 24 months
    assert break_even_volume(BIG, TUNED, 24) == pytest.approx(v / 2, rel=1e-6)


def test_never_breaks_even():
    pricier = Option("pricey-tuned", BIG.per_request_usd * 2, one_time_usd=10)
    assert break_even_volume(BIG, pricier) is None
    same = Option("same", BIG.per_request_usd, one_time_usd=5)
    assert break_even_volume(BIG, same) is None
    cheaper_everywhere = Option("free", BIG.per_request_usd / 2, one_time_usd=0)
    assert break_even_volume(BIG, cheaper_everywhere) == 0.0


def test_cost_curve_and_frontier():
    curve = cost_curve([BIG, TUNED], [0, 1000], 12)
    assert curve["big"] == [0, pytest.approx(1.6)]
    assert curve["tuned"][0] == pytest.approx(60.72 / 12)
    mid = Option("mid", 0.001, score=0.8)
    assert [o.name for o in pareto_frontier([BIG, TUNED, mid])] == ["tuned", "big"]


def test_decision_follows_volume():
    low = decide([BIG, TUNED], Requirements(1000, min_score=0.85))
    assert low.recommended.name == "big"  # below break-even the hosted model is cheaper
    high = decide([BIG, TUNED], Requirements(100_000, min_score=0.85))
    assert high.recommended.name == "tuned"
    assert high.monthly_costs["tuned"] == pytest.approx(100_000 * 0.00001 + 60.72 / 12)
    [be] = high.break_even
    assert be["option"] == "tuned" and "above 3,182 requests/month" in be["text"]
    g = {x["criterion"]: x["holds"] for x in high.guidance}
    assert g["High volume"] and g["Narrow task"] and not g["Enough labelled data"]


def test_decision_constraints_and_no_option():
    strict = decide([BIG, TUNED], Requirements(1000, min_score=0.91))
    assert strict.recommended.name == "big" and "below the minimum" in strict.rejected["tuned"]
    fast = decide([BIG, TUNED], Requirements(1000, max_latency_ms=100))
    assert fast.recommended.name == "tuned" and "latency" in fast.rejected["big"]
    inhouse = decide([BIG, TUNED], Requirements(10, data_in_house=True))
    assert inhouse.recommended.name == "tuned" and "in-house" in inhouse.rejected["big"]
    none = decide([BIG, TUNED], Requirements(1000, min_score=0.99))
    assert none.recommended is None and "No option" in none.reason


@pytest.mark.parametrize("kw,needle", [
    (dict(volume_per_month=0), "positive"), (dict(volume_per_month=-5), "positive"),
    (dict(volume_per_month=float("nan")), "positive"),
    (dict(volume_per_month=10, min_score=1.5), "between 0 and 1"),
    (dict(volume_per_month=10, max_latency_ms=0), "latency"),
])
def test_bad_requirements(kw, needle):
    with pytest.raises(ValueError, match=needle):
        Requirements(**kw)


def test_a_better_fine_tuned_model_is_compared_with_the_best_prompted_one():
    better_tuned = Option("tuned", 0.00001, one_time_usd=60, score=0.95, latency_p95_ms=60,
                          kind="adapter")
    d = decide([BIG, better_tuned], Requirements(1000))
    [be] = d.break_even
    assert be["advanced"] == "big" and be["option"] == "tuned"
    assert be["requests_per_month"] == pytest.approx(5 / (BIG.per_request_usd - 0.00001))


def test_adapter_one_time_cost_uses_the_measured_training_time(ws):
    """The fine-tune writes `train_s` into results.json: the adapter's one-time cost is that
    time x the hourly cost, not the whole job's wall time (loading, scoring, saving)."""
    from core.compare.service import training_cost
    from core.jobs import runner
    from core.jobs.files import write_json_atomic
    from core.models.registry import build_spec

    job_id = runner.submit(ws, "finetune", "core.finetune.worker", {}, prefix="ft")
    run_dir = ws.settings.runs_dir / job_id
    write_json_atomic(run_dir / "results.json", {"model_id": "tuned", "train_s": 720.0,
                                                 "wall_s": 1500.0})
    ws.registry.add(build_spec(id="tuned", kind="adapter", source=str(run_dir / "adapter"),
                               base_model="smollm2-135m-instruct", hourly_cost=0.6))
    assert training_cost(ws, "tuned") == pytest.approx(720.0 / 3600 * 0.6)
