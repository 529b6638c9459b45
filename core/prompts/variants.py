"""Prompt variants: a system part, a user template, few-shot settings, output instructions.

A variant is validated as a whole before it is saved or run (empty template,
unknown placeholders, a few-shot count without an `{examples}` slot), so
nothing half-valid reaches the store or the runner.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.models.base import ChatPrompt
from core.prompts.template import BUILTIN_NAMES, Template, TemplateError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,59}$")
DEFAULT_EXAMPLE = "Input: {input}\nAnswer: {target}"


class Variant(BaseModel):
    """One prompt variant. `few_shot` examples come from the train split."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique within a prompt set, e.g. zero-shot.")
    template: str = Field(description="The user message, with {input} and other placeholders.")
    system: str | None = Field(default=None, description="Optional system message.")
    few_shot: int = Field(default=0, ge=0, le=64, description="Examples from the train split.")
    few_shot_mode: str = Field(default="fixed", description="fixed (seeded sample) or similar.")
    example_template: str = Field(default=DEFAULT_EXAMPLE,
                                  description="How one example is written; {input}, {target}.")
    output_format: str = Field(default="", description="Appended output instructions.")
    repetition_penalty: float | None = Field(
        default=None, gt=0, le=3,
        description="Penalise answer tokens already used (1.0 = off, e.g. 1.2); unset: the "
                    "free-text default (docs/generation.md), off for labels and numbers.")
    no_repeat_ngram_size: int | None = Field(
        default=None, ge=0, le=16,
        description="Never repeat an n-gram of this many answer tokens (0 = off, e.g. 4); "
                    "unset: the free-text default, off for labels and numbers.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not _NAME.match(v):
            raise ValueError("use 1-60 letters, digits, spaces and . _ + - (e.g. 'few-shot 3')")
        return v

    @field_validator("few_shot_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("fixed", "similar"):
            raise ValueError("few_shot_mode must be 'fixed' or 'similar'")
        return v

    @model_validator(mode="after")
    def _templates(self) -> Variant:
        try:
            t = Template(self.template)
            if self.system:
                Template(self.system)
            Template(self.example_template).check_names({"input", "target", "context"},
                                                        "the example template")
        except TemplateError as e:
            raise ValueError(str(e)) from None
        names = set(t.names) | set(Template(self.system).names if self.system else [])
        if self.few_shot and "examples" not in names:
            raise ValueError(
                f"few_shot is {self.few_shot} but the template has no {{examples}} placeholder; "
                "add {examples} where the examples should go"
            )
        return self

    def placeholders(self) -> set[str]:
        names = set(Template(self.template).names)
        if self.system:
            names |= set(Template(self.system).names)
        return names

    def check_columns(self, columns: list[str]) -> None:
        """Raise TemplateError when a placeholder is neither built in nor a dataset column."""
        allowed = set(BUILTIN_NAMES) | set(columns)
        Template(self.template).check_names(allowed, f"variant '{self.name}'")
        if self.system:
            Template(self.system).check_names(allowed, f"the system part of '{self.name}'")


def format_examples(variant: Variant, examples: list[dict[str, str]]) -> str:
    """The few-shot block: each example through the variant's example template."""
    t = Template(variant.example_template)
    return "\n\n".join(t.render({"context": "", **ex}) for ex in examples)


def render_variant(variant: Variant, row: dict[str, str], *, examples: list[dict] | None = None,
                   context: str = "", labels: list[str] | None = None) -> ChatPrompt:
    """The prompt for one dataset row.

    `row` holds the mapped columns (`input` and any other column by name);
    `examples` are rows with `input` and `target`.

    >>> v = Variant(name="z", template="Text: {input}\\nLabel:", system="Labels: {labels}")
    >>> p = render_variant(v, {"input": "refund please"}, labels=["billing", "bug"])
    >>> (p.system, p.user)
    ('Labels: billing, bug', 'Text: refund please\\nLabel:')
    """
    values = {k: "" if v is None else str(v) for k, v in row.items()}
    values.update(
        examples=format_examples(variant, examples or []),
        context=context,
        labels=", ".join(labels or []),
    )
    user = Template(variant.template).render(values)
    if variant.output_format.strip():
        user = f"{user}\n\n{variant.output_format.strip()}"
    system = Template(variant.system).render(values) if variant.system else None
    return ChatPrompt(user=user, system=system)


def input_warning(variant: Variant, input_col: str) -> str | None:
    """A warning when the variant never puts the row's input in the prompt (neither `{input}`
    nor the input column by name): every row would get the same prompt.

    >>> input_warning(Variant(name="v", template="Classify it."), "text")
    "Variant 'v' has no {input} (nor {text}): every row gets the same prompt, so the answers cannot depend on the row."
    >>> input_warning(Variant(name="v", template="{text}"), "text") is None
    True
    """
    if {"input", input_col} & variant.placeholders():
        return None
    return (f"Variant '{variant.name}' has no {{input}} (nor {{{input_col}}}): every row gets "
            "the same prompt, so the answers cannot depend on the row.")


def check_unique_names(variants: list[Variant]) -> None:
    seen: set[str] = set()
    for v in variants:
        if v.name.lower() in seen:
            raise TemplateError(f"Two variants are named '{v.name}'; give each variant its own name.")
        seen.add(v.name.lower())
