"""Free-text scoring through the engine: similarity to the reference and an LLM judge."""

from __future__ import annotations

import pytest

from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.evals.scorers import ScorerConfig
from core.evals.store import cells_frame
from core.evals.summary import leaderboard
from core.models.registry import build_spec
from core.prompts.variants import Variant
from tests.evals.conftest import free_text_dataset, tiny_model  # noqa: F401  (fixture)
from tests.fake_openai import FakeOpenAIServer


@pytest.fixture
def answers(ws, tmp_path):
    return free_text_dataset(ws, tmp_path / "qa.csv", "qa", ("question", "answer"), [
        (f"question {i} : what colour is the sky", f"the sky is blue {i}") for i in range(20)])


@pytest.mark.slow
def test_similarity_scorer_scores_against_the_reference(ws, answers, tiny_model):  # noqa: F811
    run_id = run_eval(ws, EvalConfig(dataset=answers, models=[tiny_model], max_new_tokens=4,
                                     variants=[Variant(name="v", template="{input}")],
                                     scorer=ScorerConfig(kind="similarity", threshold=0.99)))
    cells = cells_frame(ws, run_id)
    assert len(cells) == 5 and cells["score"].between(-1, 1).all()
    assert (cells["passed"] == (cells["score"] >= 0.99)).all()
    [e] = leaderboard(ws, run_id)
    assert e["score"] == pytest.approx(cells["score"].mean())


def test_llm_judge_uses_the_judge_model_and_its_scale(ws, answers, tiny_model):  # noqa: F811
    with FakeOpenAIServer() as judge:
        ws.registry.add(build_spec(id="judge", kind="openai", source="fake-model",
                                   base_url=judge.url, price_in_per_m=0, price_out_per_m=0))
        for reply in ["5", "4", "2", "Score: 1", "no idea"]:
            judge.enqueue(200, {"choices": [{"message": {"content": reply},
                                             "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 10, "completion_tokens": 1}})
        run_id = run_eval(ws, EvalConfig(
            dataset=answers, models=[tiny_model], max_new_tokens=3,
            variants=[Variant(name="v", template="{input}")],
            scorer=ScorerConfig(kind="judge", judge_model="judge", rubric="Says the sky is blue.")))
        prompts = [r.body["messages"][-1]["content"] for r in judge.requests]
    cells = cells_frame(ws, run_id)
    assert len(prompts) == 5 and all("Says the sky is blue." in p for p in prompts)
    assert all("Reference answer:\nthe sky is blue" in p for p in prompts)
    assert sorted(cells["score"]) == [0.0, 0.0, 0.25, 0.75, 1.0]
    assert int(cells["passed"].sum()) == 2 and int(cells["error_kind"].notna().sum()) == 1
