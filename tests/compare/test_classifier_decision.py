"""The decision accounts for an embedding classifier in plain words, in every case."""

from __future__ import annotations

from core.compare.cost import Option
from core.compare.decision import Requirements, advanced_option, decide


def _opts(clf_score=0.85, clf_cost=0.00001, llm_score=0.9, llm_cost=0.002):
    return [Option("gpt", per_request_usd=llm_cost, score=llm_score, latency_p95_ms=900,
                   kind="openai"),
            Option("smol", per_request_usd=0.0004, score=0.6, latency_p95_ms=300,
                   kind="packaged"),
            Option("clf", per_request_usd=clf_cost, one_time_usd=0.0001, score=clf_score,
                   latency_p95_ms=20, kind="classifier")]


def test_meets_the_bar_for_less_than_every_llm():
    d = decide(_opts(), Requirements(50_000, min_score=0.8))
    assert d.recommended.name == "clf"
    note = d.record()["classifier"]
    assert note["meets_requirements"] and note["cheaper_than_every_llm"]
    assert ("The embedding classifier clf meets your requirements (score 0.850) at a lower cost "
            "than every LLM compared ($0.50 a month against $20.00 for the cheapest LLM, smol)"
            in d.reason)
    assert "gpt scores higher" in d.reason


def test_below_the_bar_says_which_llm_earns_its_cost():
    d = decide(_opts(clf_score=0.7), Requirements(50_000, min_score=0.8))
    assert d.recommended.name == "gpt"
    assert d.record()["classifier"]["meets_requirements"] is False
    assert ("The embedding classifier clf does not meet your requirements (score 0.700 is below "
            "the minimum 0.800); gpt does, so an LLM earns its cost here.") in d.reason


def test_nothing_meets_the_bar():
    d = decide(_opts(clf_score=0.5, llm_score=0.55), Requirements(50_000, min_score=0.8))
    assert d.recommended is None
    assert d.reason.endswith("does not meet your requirements (score 0.500 is below the "
                             "minimum 0.800) either.")


def test_meets_but_costs_more_than_an_llm():
    d = decide(_opts(clf_cost=0.001), Requirements(50_000, min_score=0.5))
    assert d.recommended.name == "smol"
    note = d.record()["classifier"]
    assert note["meets_requirements"] and not note["cheaper_than_every_llm"]
    assert "but costs more than smol at this volume" in d.reason


def test_without_a_classifier_nothing_changes():
    opts = [o for o in _opts() if o.kind != "classifier"]
    d = decide(opts, Requirements(50_000, min_score=0.8))
    assert d.record()["classifier"] is None and "classifier" not in d.reason


def test_the_advanced_option_is_an_llm_even_when_the_classifier_scores_best():
    opts = _opts(clf_score=0.99)
    assert advanced_option(opts).name == "gpt"
    d = decide(opts, Requirements(10_000))
    assert all(b["advanced"] == "gpt" for b in d.break_even)
    assert advanced_option([o for o in opts if o.kind == "classifier"]).name == "clf"
