"""The line that says which scorer made a run's scores, before and after `explain` exists."""

from __future__ import annotations

from core.evals.config import EvalConfig
from core.evals.engine import create_run
from core.evals.scorers import ScorerConfig
from core.evals.summary import scorer_note
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)


def run(ws, data, model, **scorer) -> int:
    return create_run(ws, EvalConfig(dataset=data, models=[model], limit=4,
                                     variants=[Variant(name="v", template="{input}")],
                                     scorer=ScorerConfig(**scorer)))


def test_auto_and_chosen_scorers_are_named(ws, tiny_data, tiny_model):  # noqa: F811
    auto = scorer_note(ws, run(ws, tiny_data, tiny_model))
    assert auto.startswith("Scorer: label") and "auto" in auto
    chosen = scorer_note(ws, run(ws, tiny_data, tiny_model, kind="contains"))
    assert chosen == "Scorer: contains (chosen for this run)."


def test_auto_explains_itself_where_the_registry_can(ws, tiny_data, tiny_model,  # noqa: F811
                                                     monkeypatch):
    seen = {}

    def explain(self, task, targets):
        seen["targets"] = targets
        return f"auto picks label for {task} ({len(targets)} targets)."

    monkeypatch.setattr(ScorerConfig, "explain", explain, raising=False)
    monkeypatch.setattr(ScorerConfig, "resolved", lambda self, task, targets=None: "label")
    note = scorer_note(ws, run(ws, tiny_data, tiny_model))
    assert note == "Scorer: label (auto). auto picks label for classification (4 targets)."
    assert len(seen["targets"]) == 4 and all(isinstance(t, str) for t in seen["targets"])
