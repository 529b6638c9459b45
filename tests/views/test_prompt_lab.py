"""AppTest of the Prompt Lab page: example variants, a background run, the leaderboard."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.evals.store import list_runs
from tests.conftest import open_app, wait_for_eval_run
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)


def open_page() -> AppTest:
    return open_app("views/prompt_lab.py", timeout=60)


def test_without_data_the_page_points_to_the_data_page():
    at = open_page()
    assert any("No dataset yet" in i.value for i in at.info)


def test_example_variants_run_in_the_background_and_rank(ws, tiny_data, tiny_model):  # noqa: F811
    at = open_page()
    at.button(key="pl_examples").click().run()
    assert not at.exception, at.exception
    names = [e.label for e in at.expander]
    assert any("zero-shot" in n for n in names) and any("scale-1-10" in n for n in names)

    at.selectbox(key="pl_model").set_value(tiny_model)
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    assert any("started" in s.value for s in at.success)
    [run] = list_runs(ws)
    assert wait_for_eval_run(ws, run["id"]) == "done"
    at.run()
    assert not at.exception, at.exception
    board = at.dataframe[0].value
    assert set(board["name"]) == {"zero-shot", "few-shot", "scale-1-10"}
    assert any("Verdict" in str(m.value) for m in list(at.success) + list(at.info))


def test_bad_variant_is_refused_and_nothing_saved(ws, tiny_data):  # noqa: F811
    at = open_page()
    form_inputs = at.text_input
    form_inputs[0].input("broken")
    at.text_area[-1].input("Classify {input.__class__}")
    next(b for b in at.get("form_submit_button") if b.label == "Add variant").click()
    at.run()
    assert any("Not added" in e.value and "not allowed" in e.value for e in at.error)
    assert ws.db.query("SELECT COUNT(*) AS n FROM prompt_versions")[0]["n"] == 0


def test_a_variant_without_the_input_is_warned_on_the_page_and_by_the_cli(
        ws, tiny_data, tiny_model, tmp_path, capsys):  # noqa: F811
    from core.cli import main
    from core.prompts import store as pstore
    from core.prompts.files import dump_prompts
    from core.prompts.variants import Variant

    blind = Variant(name="blind", template="Is this about the sky? Answer yes or no.")
    pstore.save_variant(ws, pstore.dataset_set(ws, tiny_data), blind)
    at = open_app("views/prompt_lab.py")
    assert any("Variant 'blind' has no {input} (nor {text})" in w.value for w in at.warning)
    path = tmp_path / "p.yaml"
    path.write_text(dump_prompts([blind, Variant(name="seen", template="{text}")]))
    assert main(["eval", "--data", tiny_data, "--model", tiny_model, "--prompts", str(path),
                 "--max-new-tokens", "2"]) == 0
    err = capsys.readouterr().err
    assert "warning: Variant 'blind' has no {input}" in err and "'seen'" not in err
