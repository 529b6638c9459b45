"""The ladder summary, the home page and both report formats after every kind of run on one dataset.

Prompt Lab, static vs dynamic, a comparison of three models where a similar-examples variant is
the prompt of two of them (the case that once crashed `ladder report` with KeyError
'diff_ci_low'), and a fine-tune, all on tiny models. Slow: the similar examples load MiniLM.
"""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.evals.stats import compare_paired
from core.evals.summary import is_dynamic
from core.models.registry import build_spec
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from core.report.summary import ladder_summary
from tests.conftest import open_app
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)
from tests.finetune.conftest import TINY
from tests.tiny import tiny_llama, tiny_tokenizer

SHORT = Variant(name="short", template="{input}")
FIXED = Variant(name="fixed", template="{examples} {input}", few_shot=2,
                example_template="{input} {target}")
SIMILAR = Variant(name="similar", template="{examples} {input}", few_shot=2,
                  few_shot_mode="similar", example_template="{input} {target}")


def test_not_comparable_has_every_key_of_a_comparison():
    full = compare_paired("A", [1, 0, 1], "B", [0, 0, 1])
    empty = compare_paired("A", [1], "B", [1, 0])
    assert set(empty) == set(full)
    assert empty["diff"] is None and empty["diff_ci_low"] is None and not empty["significant"]


def test_a_comparison_of_several_models_is_not_a_rung_two_run():
    similar = SIMILAR.model_dump()
    assert is_dynamic({"models": ["m"], "variants": [SHORT.model_dump(), similar]})
    assert not is_dynamic({"models": ["a", "b", "c"], "variants": [similar],
                           "pairs": [("a", "similar"), ("b", "similar"), ("c", "similar")]})
    assert not is_dynamic({"models": ["m"], "variants": [SHORT.model_dump()]})


@pytest.mark.slow
def test_summary_and_reports_after_every_kind_of_run(ws, tiny_data, tiny_model, tmp_path,  # noqa: F811
                                                     capsys, monkeypatch):
    for i, name in enumerate(("tiny-b", "tiny-c")):
        folder = tmp_path / name
        tiny_llama(10 + i).save_pretrained(folder, safe_serialization=True)
        tiny_tokenizer(chat=False).save_pretrained(folder)
        ws.registry.add(build_spec(id=name, kind="folder", source=str(folder), hourly_cost=1.0))
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(dump_prompts([SHORT, FIXED, SIMILAR]))

    # rung 1, rung 2, then a comparison: similar examples for two models, a static prompt for one
    run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], variants=[SHORT, FIXED]))
    run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], variants=[SHORT, SIMILAR]))
    assert main(["compare", "--data", tiny_data, "--models", "tiny,tiny-b,tiny-c", "--prompts",
                 str(prompts), "--variant", "similar", "--variant-for", "tiny-c=short",
                 "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert {(m["model"], m["variant"]) for m in compared["models"]} == {
        ("tiny", "similar"), ("tiny-b", "similar"), ("tiny-c", "short")}
    # rung 4 on the same dataset
    monkeypatch.setenv("LADDER_ALLOW_TINY", "1")
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    assert main(["finetune", "start", "--data", tiny_data, "--model", "tiny", *sets, "--wait",
                 "--json"]) == 0
    tuned = json.loads(capsys.readouterr().out)
    assert tuned["status"] == "succeeded"

    s = ladder_summary(ws, tiny_data)
    assert s["prompt_lab"]["best"]["name"] in ("short", "fixed")
    dyn = s["dynamic"]
    assert (dyn["dynamic"], dyn["static"], dyn["model"]) == ("similar", "short", "tiny")
    assert dyn["gain_ci"][0] <= dyn["gain"] <= dyn["gain_ci"][1]
    assert len(s["comparison"]["models"]) == 3
    assert s["finetune"]["run_id"] == tuned["run_id"] and s["finetune"]["after"]["n"] == 6

    for suffix in ("md", "html"):
        out = tmp_path / f"r.{suffix}"
        code = main(["report", "--data", tiny_data, "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 0, err
        text = out.read_text()
        for heading in ("1 · Prompt Lab", "2 · Dynamic prompts", "3 · Model comparison",
                        "4 · Fine-tuning"):
            assert heading in text
        assert "similar vs short" in text and "Not run yet" not in text
        assert "tiny-c" in text and tuned["model_id"] in text

    at = open_app()  # the home page draws the same summary
    assert any(f"Decision report · {tiny_data}" in h.value for h in at.subheader)
    assert not at.exception
