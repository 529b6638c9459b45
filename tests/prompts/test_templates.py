"""Safe rendering of prompt templates, variants and the YAML prompts file."""

from __future__ import annotations

import random
import string

import pytest

from core.prompts.files import PromptsFileError, dump_prompts, parse_prompts
from core.prompts.template import Template, TemplateError
from core.prompts.variants import Variant, render_variant


@pytest.mark.parametrize("text", [
    "{input.__class__}", "{input.__class__.__mro__}", "{input[0]}", "{input!r}",
    "{input:>10}", "{input:{width}}", "{{ input }}", "{% for x in y %}{{ x }}{% endfor %}",
    "{# comment #}", "{ input .upper }",
])
def test_code_reaching_templates_are_rejected(text):
    with pytest.raises(TemplateError):
        Template(f"Classify: {text}")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_template(text):
    with pytest.raises(TemplateError, match="empty"):
        Template(text)


def test_literal_json_braces_are_kept():
    t = Template('Reply as JSON like {"label": "bug"} for: {input}')
    assert t.names == ["input"]
    assert t.render({"input": "x"}) == 'Reply as JSON like {"label": "bug"} for: x'


def test_values_are_not_expanded_again():
    t = Template("A {input} B {context}")
    assert t.render({"input": "{context}", "context": "{input.__class__}"}) == \
        "A {context} B {input.__class__}"


def test_round_trip_over_random_values():
    rng = random.Random(0)
    alphabet = string.printable + "éü{}%#"
    t = Template("<{input}|{context}>")
    for _ in range(300):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        out = t.render({"input": a, "context": b})
        assert out == f"<{a}|{b}>"


def test_unknown_placeholder_names_the_available_ones():
    v = Variant(name="v", template="Text: {inptu}")
    with pytest.raises(TemplateError, match=r"Unknown placeholder \{inptu\}.*\{input\}"):
        v.check_columns(["text", "category"])
    v.check_columns(["inptu"])  # a dataset column of that name is fine


def test_few_shot_needs_examples_slot():
    with pytest.raises(ValueError, match="no \\{examples\\} placeholder"):
        Variant(name="v", template="{input}", few_shot=3)


def test_render_variant_fills_everything():
    v = Variant(name="fs", system="Labels: {labels}", template="{examples}\n\nInput: {input}\nAnswer:",
                few_shot=2, output_format="One word.")
    p = render_variant(v, {"input": "help", "priority": "high"},
                       examples=[{"input": "a", "target": "x"}, {"input": "b", "target": "y"}],
                       labels=["x", "y"])
    assert p.system == "Labels: x, y"
    assert p.user == "Input: a\nAnswer: x\n\nInput: b\nAnswer: y\n\nInput: help\nAnswer:\n\nOne word."


GOOD = """
variants:
  - name: zero-shot
    template: "Classify: {input}"
  - name: few-shot
    system: You label tickets.
    template: "{examples}\\nInput: {input}"
    few_shot: 3
"""


def test_prompts_file_round_trip():
    variants = parse_prompts(GOOD)
    assert [v.name for v in variants] == ["zero-shot", "few-shot"]
    assert parse_prompts(dump_prompts(variants)) == variants


@pytest.mark.parametrize("text,needle", [
    ("variants: [", "not valid YAML at line"),
    ("- a\n- b", "'variants:' list"),
    ("variants: []", "no variants"),
    ("variants:\n  - name: a\n", "template: is required"),
    ("variants:\n  - name: a\n    template: ''\n", "empty"),
    ("variants:\n  - name: a\n    template: x\n  - name: A\n    template: y\n", "Two variants"),
    ("variants:\n  - name: a\n    template: x\n    temperature: 2\n", "unknown key"),
    ("variants:\n  - name: a\n    template: '{input.__class__}'\n", "not allowed"),
    ("variants:\n  - just a string\n", "must be a mapping"),
    ("variants:\n  - name: a\n    template: x\nextra: 1\n", "unknown top-level"),
])
def test_malformed_prompts_files(text, needle):
    with pytest.raises(PromptsFileError, match=needle):
        parse_prompts(text)
