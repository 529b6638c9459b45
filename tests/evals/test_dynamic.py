"""Dynamic prompts through the engine: similar few-shot with the leakage guard, retrieved context."""

from __future__ import annotations

import pytest

from core.evals.config import EvalConfig
from core.evals.engine import EvalError, build_prompts, create_run, run_eval
from core.evals.rows import load_rows
from core.evals.summary import leaderboard
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)

SIMILAR = Variant(name="similar", template="{examples}\n{input}", few_shot=3,
                  few_shot_mode="similar", example_template="{input} => {target}")
CONTEXT = Variant(name="context", template="{context}\n{input}")


@pytest.mark.slow
def test_similar_examples_come_only_from_train_and_never_the_row(ws, tiny_data):  # noqa: F811
    cfg = EvalConfig(dataset=tiny_data, models=["smollm2-135m-instruct"], variants=[SIMILAR])
    for split in ("test", "train"):
        data = load_rows(ws, tiny_data, split)
        train_inputs = {r["input"] for r in data.train_rows}
        prompts = build_prompts(ws, cfg, data, SIMILAR)
        for row, p in zip(data.rows, prompts, strict=True):
            shown = [line.split(" => ")[0] for line in p.user.split("\n") if " => " in line]
            assert len(shown) == 3
            assert set(shown) <= train_inputs  # never a validation or test row
            assert row["input"] not in shown  # never the row itself


@pytest.mark.slow
def test_static_vs_dynamic_run_with_a_knowledge_base(ws, tiny_data, tiny_model, tmp_path):  # noqa: F811
    from core.retrieval.ingest import add_files
    from core.retrieval.store import create_kb

    doc = tmp_path / "facts.md"
    doc.write_text("# Sky\n\nthe sky is blue yes\n\n# Cats\n\na cat is red no\n")
    kb = create_kb(ws, "facts")
    add_files(kb, [doc])
    static = Variant(name="static", template="{input}")
    run_id = run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], kb="facts", kb_k=1,
                                     variants=[static, CONTEXT, SIMILAR]))
    board = {e["name"]: e for e in leaderboard(ws, run_id)}
    assert set(board) == {"static", "context", "similar"}
    assert board["context"]["input_tokens_mean"] > board["static"]["input_tokens_mean"]
    data = load_rows(ws, tiny_data, "test")
    cfg = EvalConfig(dataset=tiny_data, models=[tiny_model], kb="facts", kb_k=1,
                     variants=[CONTEXT])
    [first, *_] = build_prompts(ws, cfg, data, CONTEXT)
    assert "[facts.md" in first.user


def test_kb_problems_are_refused_before_a_run(ws, tiny_data, tiny_model):  # noqa: F811
    with pytest.raises(EvalError, match="nosuch"):
        create_run(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], kb="nosuch",
                                  variants=[CONTEXT]))
