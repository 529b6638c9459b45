"""The per-row download beside the Prompt Lab leaderboard, and the scorer that made it."""

from __future__ import annotations

from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.prompts.variants import Variant
from tests.conftest import open_app
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)


def test_prompt_lab_offers_the_rows_of_the_run_shown(ws, tiny_data, tiny_model):  # noqa: F811
    run_id = run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], limit=4,
                                     variants=[Variant(name="a", template="{input}"),
                                               Variant(name="b", template="Text: {input}")]))
    at = open_app("views/prompt_lab.py")
    assert not at.exception, at.exception
    button = at.download_button(key="pl_csv")
    assert button.label == "Download per-row outputs (CSV)"
    assert f"ladder eval export {run_id}" in button.help
    assert any(c.value.startswith("Scorer: label") for c in at.caption)


def test_no_button_before_a_run(ws, tiny_data):  # noqa: F811
    at = open_app("views/prompt_lab.py")
    assert not at.exception, at.exception
    assert len(at.download_button) == 1  # only the variants' YAML export
