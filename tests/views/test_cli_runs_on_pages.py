"""Runs started with `ladder eval` / `ladder compare` and a prompts file show on the pages like
runs started there: the file's variants join the dataset's prompt set as versions, and each run
is listed where its purpose belongs."""

from __future__ import annotations

import json

from core.cli import main
from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.evals.store import list_runs
from core.models.registry import build_spec
from core.prompts import store as pstore
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.conftest import open_app
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)

SHORT = Variant(name="short", template="{input}")
LONG = Variant(name="long", template="Text: {input}\nLabel ({labels}):")


def _eval(capsys, data, model, prompts) -> dict:
    assert main(["eval", "--data", data, "--model", model, "--prompts", str(prompts),
                 "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_cli_eval_variants_join_the_prompt_set_and_show_on_the_pages(
        ws, tiny_data, tiny_model, tmp_path, capsys):  # noqa: F811
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(dump_prompts([SHORT, LONG]))
    out = _eval(capsys, tiny_data, tiny_model, prompts)
    assert out["purpose"] == "prompt_lab"
    assert out["prompt_set"] == {"name": f"{tiny_data} prompts",
                                 "versions": {"short": 1, "long": 1}}
    set_id = pstore.dataset_set(ws, tiny_data)
    assert pstore.current_variants(ws, set_id) == [SHORT, LONG]

    # an edited file: the changed variant gets a new version, the unchanged one keeps its own,
    # and a variant only the page knows is left alone
    pstore.save_variant(ws, set_id, Variant(name="page-only", template="Q: {input}"))
    edited = LONG.model_copy(update={"template": "Input: {input}\nAnswer ({labels}):"})
    prompts.write_text(dump_prompts([SHORT, edited]))
    again = _eval(capsys, tiny_data, tiny_model, prompts)
    assert again["prompt_set"]["versions"] == {"short": 1, "long": 2}
    assert [h["version"] for h in pstore.history(ws, set_id, "long")] == [1, 2]
    assert {v.name for v in pstore.current_variants(ws, set_id)} == {"short", "long",
                                                                      "page-only"}

    # the Prompt Lab page: the variants are there, and so are both runs, newest first
    at = open_app("views/prompt_lab.py")
    assert not any("prompt set is empty" in i.value for i in at.info)
    labels = [e.label for e in at.expander]
    assert all(any(n in x for x in labels) for n in ("short", "long", "page-only"))
    picker = at.selectbox(key="pl_pick")
    assert [o.split(" · ")[0] for o in picker.options] == [f"#{again['run_id']}",
                                                          f"#{out['run_id']}"]
    assert "Prompt Lab" in picker.options[0]
    board = at.dataframe[0].value
    assert set(board["name"]) == {"short", "long"}

    # the comparison page offers them as prompts instead of asking for a Prompt Lab variant
    at = open_app("views/compare.py")
    assert not any("Write at least one prompt variant" in i.value for i in at.info)
    prompt_for = [s for s in at.selectbox if (s.key or "").startswith("cmp_v_")]
    assert prompt_for and all(set(s.options) == {"short", "long", "page-only"}
                              for s in prompt_for)


def test_cli_compare_shows_on_the_comparison_page(ws, tiny_data, tiny_model, tmp_path,  # noqa: F811
                                                  capsys):
    ws.registry.add(build_spec(id="tiny-b", kind="folder",
                               source=ws.registry.get(tiny_model).source, hourly_cost=0.5))
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(dump_prompts([SHORT, LONG]))
    assert main(["compare", "--data", tiny_data, "--models", f"{tiny_model},tiny-b",
                 "--prompts", str(prompts), "--variant-for", "tiny-b=long", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prompt_set"]["versions"] == {"short": 1, "long": 1}
    assert [r["id"] for r in list_runs(ws, tiny_data, purpose="comparison")] == [out["run_id"]]

    at = open_app("views/compare.py")
    assert not at.exception, at.exception
    assert at.selectbox(key="cmp_pick").value == out["run_id"]
    table = at.dataframe[0].value
    assert dict(zip(table["model"], table["variant"], strict=True)) == {tiny_model: "short",
                                                                       "tiny-b": "long"}
    assert dict(zip(table["model"], table["score"], strict=True)) == {
        m["model"]: m["score"] for m in out["models"]}  # the CLI's results, read back
    assert any("Recommendation" in s.value for s in at.success) or at.warning  # a decision
    # the Dynamic prompts page does not take the comparison for a rung-2 run
    assert list_runs(ws, tiny_data, purpose="dynamic") == []


def test_a_run_from_before_offers_its_variants_on_an_empty_prompt_lab(
        ws, tiny_data, tiny_model):  # noqa: F811
    """A run made from a prompts file before `ladder eval` joined the set (run_eval alone)."""
    run_id = run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model],
                                     variants=[SHORT, LONG]))
    at = open_app("views/prompt_lab.py")
    assert any("prompt set is empty" in i.value for i in at.info)
    at.button(key="pl_from_run").click().run()
    assert not at.exception, at.exception
    assert pstore.current_variants(ws, pstore.dataset_set(ws, tiny_data)) == [SHORT, LONG]
    assert not any("prompt set is empty" in i.value for i in at.info)
    assert at.selectbox(key="pl_pick").value == run_id
