"""The default decision respects accuracy: with no minimum score, only options within noise of
the best score qualify; an explicit minimum (even 0) keeps the cheapest that passes it."""

from __future__ import annotations

import json

from core.cli import main
from core.compare.cost import Option
from core.compare.decision import Requirements, decide
from core.models.registry import build_spec
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_data  # noqa: F401  (fixture)
from tests.fake_openai import FakeOpenAIServer

WEAK = Option("weak", 0.0001, score=0.26, ci_low=0.20, ci_high=0.32, latency_p95_ms=100)
STRONG = Option("strong", 0.0003, score=0.96, ci_low=0.93, ci_high=0.98, latency_p95_ms=300)
NEAR = Option("near", 0.0002, score=0.94, ci_low=0.90, ci_high=0.97, latency_p95_ms=200)


def test_the_default_picks_the_cheapest_within_noise_of_the_best():
    d = decide([WEAK, STRONG], Requirements(10_000))
    assert d.recommended.name == "strong"
    assert "cheapest of the options within noise of the best score" in d.reason
    assert "beyond noise" in d.rejected["weak"]
    d = decide([WEAK, STRONG, NEAR], Requirements(10_000))
    assert d.recommended.name == "near"  # as good within noise, and cheaper
    d = decide([WEAK, STRONG], Requirements(10_000, min_score=0.0))
    assert d.recommended.name == "weak" and "meets the minimum score" in d.reason
    assert decide([WEAK, STRONG], Requirements(10_000, min_score=0.2)).recommended.name == "weak"


def test_compare_cli_recommends_the_accurate_model_unless_told_otherwise(ws, tiny_data,  # noqa: F811
                                                                        tmp_path, capsys):
    from core.evals.rows import load_rows

    truth = {r["input"]: r["target"] for r in load_rows(ws, tiny_data, "all").rows}
    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts([Variant(name="v", template="{input}")]))

    def right(body):
        return truth[body["messages"][-1]["content"]]

    with FakeOpenAIServer(answer=right) as good, FakeOpenAIServer(answer=lambda b: "maybe") as bad:
        ws.registry.add(build_spec(id="strong", kind="openai", source="fake-model", base_url=good.url,
                                   price_in_per_m=5.0, price_out_per_m=15.0))
        ws.registry.add(build_spec(id="weak", kind="openai", source="fake-model", base_url=bad.url,
                                   price_in_per_m=0.1, price_out_per_m=0.2))
        argv = ["compare", "--data", tiny_data, "--models", "strong,weak", "--prompts",
                str(prompts), "--split", "all", "--json"]
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, err
        out = json.loads(out)
        assert out["recommendation"] == "strong", out["decision"]["reason"]
        assert main([*argv, "--min-score", "0"]) == 0
        out = json.loads(capsys.readouterr()[0])
        assert out["recommendation"] == "weak"
