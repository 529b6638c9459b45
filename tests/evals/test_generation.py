"""Decoding settings of a run: answer length and stop strings from the train targets, the
repetition control per variant, and max_new_tokens checked against the model's context."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evals import generation as gen
from core.evals.config import EvalConfig
from core.evals.engine import EvalError, cell_key, create_run, run_eval
from core.evals.rows import EvalRows
from core.evals.store import cells_frame, list_runs
from core.models.base import ChatPrompt
from core.prompts.variants import Variant
from tests.evals.conftest import free_text_dataset, tiny_data, tiny_model  # noqa: F401  (fixtures)

V = Variant(name="v", template="{input}")


def rows(targets: list[str]) -> EvalRows:
    train = [{"row_id": i, "input": f"in {i}", "target": t} for i, t in enumerate(targets)]
    return EvalRows(version=None, split="test", rows=train[:1], train_rows=train)  # type: ignore[arg-type]


def cfg(**kw) -> EvalConfig:
    return EvalConfig(dataset="d", models=["m"], variants=[V], **kw)


def test_free_text_answer_length_comes_from_the_train_targets():
    short = ["a small cafe by the river"] * 50
    long = short[:40] + ["a long description of the place " * 12] * 10
    p_short = gen.generation_params(cfg(), rows(short), V, 0, task="free_text")
    p_long = gen.generation_params(cfg(), rows(long), V, 0, task="free_text")
    n = gen.token_counts(long)
    assert p_long.max_new_tokens == math.ceil(float(np.percentile(n, 99)) * 1.25) + 8
    assert p_short.max_new_tokens < 24 < p_long.max_new_tokens
    capped = gen.generation_params(cfg(), rows(long), V, 0, task="free_text", context=64)
    assert capped.max_new_tokens == 32  # half the context: the prompt needs room too
    assert gen.generation_params(cfg(max_new_tokens=7), rows(long), V, 0,
                                 task="free_text").max_new_tokens == 7  # set: kept
    assert gen.generation_params(cfg(), rows([]), V, 0,
                                 task="free_text").max_new_tokens == gen.NO_TRAIN_TOKENS


def test_labels_and_numbers_keep_a_short_answer():
    for task in ("classification", "scale"):
        p = gen.generation_params(cfg(), rows(["yes", "no"] * 30), V, 0, task=task)
        assert p.max_new_tokens == gen.LABEL_TOKENS
        assert (p.repetition_penalty, p.no_repeat_ngram_size) == (1.0, 0)


def test_stop_at_a_line_break_only_when_no_target_has_one():
    one_line = gen.generation_params(cfg(), rows(["Paris.", "Lyon."]), V, 0, task="free_text")
    lines = gen.generation_params(cfg(), rows(["Paris.\nFrance", "Lyon."]), V, 0,
                                  task="free_text")
    paragraphs = gen.generation_params(cfg(), rows(["Paris.\n\nFrance"]), V, 0, task="free_text")
    assert one_line.stop == ("\n",)
    assert lines.stop == ("\n\n",)
    assert paragraphs.stop == ()  # only the end-of-sequence token ends such an answer


def test_repetition_control_is_a_variant_setting_with_a_free_text_default():
    data = rows(["a small cafe"] * 10)
    default = gen.generation_params(cfg(), data, V, 0, task="free_text")
    assert (default.repetition_penalty, default.no_repeat_ngram_size) == gen.FREE_TEXT_REPETITION
    own = V.model_copy(update={"repetition_penalty": 1.2, "no_repeat_ngram_size": 0})
    p = gen.generation_params(cfg(), data, own, 0, task="free_text")
    assert (p.repetition_penalty, p.no_repeat_ngram_size) == (1.2, 0)
    with pytest.raises(ValueError, match="repetition_penalty"):
        Variant(name="x", template="{input}", repetition_penalty=0)


def test_the_cell_key_follows_the_decoding_settings():
    data = rows(["a small cafe"] * 10)
    prompt = ChatPrompt("hi")
    a = gen.generation_params(cfg(), data, V, 0, task="free_text")
    b = gen.generation_params(cfg(), data, V.model_copy(update={"no_repeat_ngram_size": 3}), 0,
                              task="free_text")
    assert cell_key("m", prompt, a, 0, "generate", None) != cell_key("m", prompt, b, 0,
                                                                     "generate", None)
    # a likelihood cell does not decode: its key ignores stop strings and repetition
    assert cell_key("m", prompt, a, 0, "likelihood", ["x"]) == cell_key("m", prompt, b, 0,
                                                                        "likelihood", ["x"])


@pytest.fixture
def descriptions(ws, tmp_path):
    return free_text_dataset(ws, tmp_path / "desc.csv", "desc", ("item", "text"), [
        (f"a b c {i}", f"the sky is blue and the cat is red {'a b ' * (i % 4)}")
        for i in range(20)])


def test_a_free_text_run_decodes_with_the_generation_params(ws, descriptions, tiny_model):  # noqa: F811
    from core.evals.rows import load_rows

    v = Variant(name="v", template="{input}", no_repeat_ngram_size=2)
    run_id = run_eval(ws, EvalConfig(dataset=descriptions, models=[tiny_model], variants=[v]))
    data = load_rows(ws, descriptions, "test")
    expected = gen.generation_params(EvalConfig(dataset=descriptions, models=[tiny_model],
                                                variants=[v]), data, v, 0, context=128)
    cells = cells_frame(ws, run_id)
    assert len(cells) == len(data.rows)
    assert (cells["output_tokens"] <= expected.max_new_tokens).all()
    for out in cells["output"]:  # no bigram twice in an answer
        words = out.split()
        pairs = list(zip(words, words[1:], strict=False))
        assert len(pairs) == len(set(pairs))


def test_max_new_tokens_beyond_the_context_is_refused_before_a_run(ws, tiny_data, tiny_model):  # noqa: F811
    bad = EvalConfig(dataset=tiny_data, models=[tiny_model], variants=[V], max_new_tokens=500)
    with pytest.raises(EvalError) as e:
        create_run(ws, bad)
    msg = str(e.value)
    assert "\n" not in msg
    assert "beyond the context of tiny (128 tokens" in msg and "--max-new-tokens below 128" in msg
    assert list_runs(ws) == []  # nothing saved


def test_the_cli_says_the_limit_in_one_line(ws, tiny_data, tiny_model, tmp_path, capsys):  # noqa: F811
    from core.cli import main

    prompts = tmp_path / "p.yaml"
    prompts.write_text("variants:\n  - name: v\n    template: '{input}'\n")
    code = main(["eval", "--data", tiny_data, "--model", tiny_model, "--prompts", str(prompts),
                 "--max-new-tokens", "4096"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0 and "beyond the context of tiny (128 tokens" in err
    assert list_runs(ws) == []
