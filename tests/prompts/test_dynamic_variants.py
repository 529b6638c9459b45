"""One builder of static-vs-dynamic variants for the page and the CLI, worded for any dataset."""

from __future__ import annotations

import pytest

from core.prompts import dynamic_variants as dv
from core.prompts.template import TemplateError
from core.prompts.variants import Variant

SAMPLE_WORDS = ("ticket", "help-center", "help center", "solved", "category", "customer")


@pytest.mark.parametrize("task", ["classification", "scale", "free_text"])
def test_defaults_name_no_domain(task):
    texts = [dv.default_static(task).template, dv.preview_template(task), dv.EXAMPLES_HEADER,
             dv.CONTEXT_HEADER]
    for text in texts:
        assert not any(w in text.lower() for w in SAMPLE_WORDS), text
    assert ("{labels}" in dv.default_static(task).template) == (task == "classification")
    assert all(p in dv.preview_template(task) for p in ("{context}", "{examples}", "{input}"))


def test_one_static_variant_gets_plain_names():
    static = Variant(name="s", template="Text: {input}\nLabel:")
    s, few, ctx = dv.static_vs_dynamic([static], 3, True)
    assert s == static
    assert (few.name, few.few_shot, few.few_shot_mode) == ("dynamic few-shot 3", 3, "similar")
    assert few.template == dv.EXAMPLES_HEADER + static.template
    assert (ctx.name, ctx.template) == ("retrieved context", dv.CONTEXT_HEADER + static.template)
    assert [v.name for v in dv.static_vs_dynamic([static], 2, False)] == ["s",
                                                                          "dynamic few-shot 2"]


def test_slots_already_in_the_template_are_used_and_own_examples_kept():
    static = Variant(name="fixed", template="{examples}\n{context}\n{input}", few_shot=4,
                     example_template="{input} => {target}")
    _, few, ctx = dv.dynamic_variants(static, 2, True)
    assert few.template == ctx.template == static.template
    assert few.few_shot == 2 and few.few_shot_mode == "similar"
    assert ctx.few_shot == 4 and ctx.few_shot_mode == "fixed"  # only the context changes
    assert few.example_template == static.example_template


def test_several_statics_are_prefixed_and_dynamic_ones_kept_as_written():
    a = Variant(name="a", template="{input}")
    b = Variant(name="b", template="Q: {input}")
    similar = Variant(name="mine", template="{examples} {input}", few_shot=5,
                      few_shot_mode="similar")
    rag = Variant(name="rag", template="{context} {input}")
    got = dv.static_vs_dynamic([a, similar, b, rag], 3, True)
    assert [v.name for v in got] == ["a", "a dynamic few-shot 3", "a retrieved context", "mine",
                                     "b", "b dynamic few-shot 3", "b retrieved context", "rag"]
    assert got[3] == similar and got[-1] == rag
    # without a knowledge base, {context} is the dataset's own column: that variant is static
    assert [v.name for v in dv.static_vs_dynamic([a, rag], 2, False)] == [
        "a", "a dynamic few-shot 2", "rag", "rag dynamic few-shot 2"]


def test_refusals_are_one_line():
    s = Variant(name="s", template="{input}")
    with pytest.raises(TemplateError, match="choose similar examples"):
        dv.static_vs_dynamic([s], 0, False)
    similar = Variant(name="m", template="{examples} {input}", few_shot=2, few_shot_mode="similar")
    with pytest.raises(TemplateError, match="no static variant"):
        dv.static_vs_dynamic([similar], 3, False)
    rag = Variant(name="rag", template="{context} {input}")
    assert dv.static_vs_dynamic([rag], 0, True) == [rag]  # the knowledge base fills {context}
    with pytest.raises(TemplateError, match="must be 0 or more"):
        dv.dynamic_variants(s, -1, False)
    clash = Variant(name="dynamic few-shot 3", template="{input}")
    with pytest.raises(TemplateError, match="Two variants are named"):
        dv.static_vs_dynamic([s, clash.model_copy(update={"few_shot_mode": "similar"})], 3,
                             False)
