"""The static vs dynamic section's variants and its difference table."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.evals.store import cells_frame, get_run, list_runs
from core.prompts import store as pstore
from core.prompts.dynamic_variants import dynamic_variants
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.conftest import open_app, wait_for_eval_run
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)
from tests.retrieval.conftest import docs, kb  # noqa: F401  (fixtures)
from views.dynamic_eval import differences


def test_dynamic_variants_derive_from_the_static_one():
    static = Variant(name="s", template="Text: {input}\nLabel:")
    s, few, ctx = dynamic_variants(static, 3, True)
    assert s == static
    assert few.few_shot == 3 and few.few_shot_mode == "similar" and "{examples}" in few.template
    assert "{context}" in ctx.template and ctx.few_shot == 0
    assert few.template.endswith(static.template) and ctx.template.endswith(static.template)
    assert dynamic_variants(static, 0, False) == [static]


@pytest.mark.slow
def test_differences_are_paired_against_the_static_variant(ws, tiny_data, tiny_model):  # noqa: F811
    variants = dynamic_variants(Variant(name="s", template="{input}"), 2, False)
    run_id = run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], variants=variants))
    d = differences(ws, run_id)
    assert list(d["dynamic variant"]) == ["dynamic few-shot 2"] and list(d["vs"]) == ["s"]
    row = d.iloc[0]
    assert row["95% CI low"] <= row["difference (points)"] <= row["95% CI high"]
    assert row["rows"] == 6 and 0 <= row["p"] <= 1


@pytest.mark.slow
def test_page_and_cli_run_the_same_dynamic_variants(ws, tiny_data, tiny_model, kb,  # noqa: F811
                                                    tmp_path, capsys):
    """The Dynamic prompts page and `ladder eval --few-shot-k K --kb NAME` on the same dataset,
    static variant and settings store the same variants (and the same run settings)."""
    static = Variant(name="plain", template="Text: {input}\nLabel ({labels}):")
    pstore.save_variant(ws, pstore.dataset_set(ws, tiny_data), static)
    at = open_app("views/dynamic.py", timeout=120)
    at.selectbox(key="dv_model").set_value(tiny_model)
    at.number_input(key="dv_k").set_value(2)
    at.number_input(key="dv_kb_k").set_value(2)
    at.button(key="dv_run").click().run()
    assert not at.exception, at.exception
    [page_run] = list_runs(ws, tiny_data)
    assert wait_for_eval_run(ws, page_run["id"], 300) == "done"

    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts([static]))
    assert main(["eval", "--data", tiny_data, "--model", tiny_model, "--prompts", str(prompts),
                 "--few-shot-k", "2", "--kb", kb.name, "--kb-k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    page, cli = get_run(ws, page_run["id"]), get_run(ws, out["run_id"])
    assert [v["name"] for v in cli["config"]["variants"]] == [
        "plain", "dynamic few-shot 2", "retrieved context"]
    assert page["config"]["variants"] == cli["config"]["variants"]
    for key in ("kb", "kb_k", "split", "limit", "models", "scoring", "samples", "seed"):
        assert page["config"][key] == cli["config"][key], key
    assert page["purpose"] == cli["purpose"] == out["purpose"] == "dynamic"
    # the same cells: the CLI run read every answer the page's run computed from the cache
    assert out["variants"] and {e["name"] for e in out["variants"]} == {
        "plain", "dynamic few-shot 2", "retrieved context"}
    cached = cells_frame(ws, out["run_id"])["cached"]
    assert cached.all()
