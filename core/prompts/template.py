"""Prompt templates with named placeholders, rendered safely.

A template is plain text with `{name}` placeholders: `{input}`, `{context}`,
`{examples}`, `{labels}` and any mapped dataset column. Only plain names are
substituted, in one pass, so a value that itself contains `{input}` is left
alone. Anything that would reach into Python (`{input.__class__}`,
`{input[0]}`, `{input!r}`, format specs) or looks like Jinja (`{{ x }}`,
`{% if %}`) is rejected with a message; other braces, such as a JSON example
`{"label": "..."}`, are kept as literal text. That keeps templates easy to
write for analysts and impossible to turn into code.

>>> Template("Classify: {input}").render({"input": "my card was charged twice"})
'Classify: my card was charged twice'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import LadderError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# `{` + a name + anything other than `}`: attribute, index, conversion or format spec.
REACHING = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*([.\[!:][^{}]*|\s+[^{}]*)\}")
JINJA = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
BUILTIN_NAMES = ("input", "context", "examples", "labels")


class TemplateError(LadderError, ValueError):
    """A template cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Template:
    text: str

    def __post_init__(self) -> None:
        check_syntax(self.text)

    @property
    def names(self) -> list[str]:
        """Placeholders in order of first appearance.

        >>> Template("{input} then {context} and {input}").names
        ['input', 'context']
        """
        seen: list[str] = []
        for m in PLACEHOLDER.finditer(self.text):
            if m.group(1) not in seen:
                seen.append(m.group(1))
        return seen

    def check_names(self, allowed: set[str] | list[str], where: str = "the template") -> None:
        unknown = [n for n in self.names if n not in allowed]
        if unknown:
            raise TemplateError(
                f"Unknown placeholder {{{unknown[0]}}} in {where}. Available: "
                + ", ".join(f"{{{a}}}" for a in sorted(allowed))
                + ". Check the spelling or map the column on the Data page."
            )

    def render(self, values: dict[str, str]) -> str:
        """Substitute every placeholder; a missing value is an error, not an empty string."""
        missing = [n for n in self.names if n not in values]
        if missing:
            raise TemplateError(f"No value for {{{missing[0]}}}.")
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), self.text)


def check_syntax(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise TemplateError("The template is empty; write the prompt, e.g. 'Classify: {input}'.")
    if m := JINJA.search(text):
        raise TemplateError(
            f"'{m.group(0)}' looks like Jinja template code, which is not run here. "
            "Write placeholders with single braces, e.g. {input}."
        )
    if m := REACHING.search(text):
        raise TemplateError(
            f"'{m.group(0)}' is not allowed: only plain names such as {{{m.group(1)}}} are "
            "substituted (no attributes, indexes, conversions or format specs)."
        )
