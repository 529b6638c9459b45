"""Scorers by task type: turn a model output into a parsed answer, a score and pass/fail.

Classification extracts the label the output names (small models rarely answer
with the bare label); numeric scales parse the first number; free text has
contains, regex, valid JSON, embedding similarity and an LLM judge. A scorer
never raises on odd output: it reports `invalid_output`, which the leaderboard
counts separately from wrong answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

INVALID = "invalid_output"
MODEL_ERROR = "model_error"
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_PREFIX = re.compile(r"^(?:the\s+)?(?:answer|label|category|class|sentiment|rating|score)\s*(?:is)?\s*[:=-]?\s*",
                     re.I)


@dataclass
class Scored:
    parsed: str | None
    score: float
    passed: bool
    error_kind: str | None = None


def normalize(text: str) -> str:
    """Lowercase, unify separators, drop surrounding punctuation.

    >>> normalize('  "Feature_Request." ')
    'feature request'
    """
    t = text.strip().lower().replace("_", " ").replace("-", " ")
    t = re.sub(r"\s+", " ", t)
    return t.strip(" \t\n\"'`.,;:!?()[]{}*")


def extract_label(output: str, labels: list[str]) -> str | None:
    """The label an output names: exact, after a prefix like 'Answer:', or first mentioned.

    >>> extract_label("The category is: Billing.", ["billing", "bug"])
    'billing'
    >>> extract_label("I think this is a bug report", ["billing", "bug"])
    'bug'
    >>> extract_label("no idea", ["billing", "bug"]) is None
    True
    """
    norm_labels = {normalize(lab): lab for lab in labels}
    text = normalize(output)
    if text in norm_labels:
        return norm_labels[text]
    first_line = normalize(_PREFIX.sub("", output.strip().splitlines()[0] if output.strip() else ""))
    if first_line in norm_labels:
        return norm_labels[first_line]
    best: tuple[int, int, str] | None = None
    for nl, lab in norm_labels.items():
        if not nl:
            continue
        m = re.search(rf"(?<![a-z0-9]){re.escape(nl)}(?![a-z0-9])", text)
        if m and (best is None or (m.start(), -len(nl)) < (best[0], best[1])):
            best = (m.start(), -len(nl), lab)
    return best[2] if best else None


def parse_number(output: str) -> float | None:
    """First number in the output ('7/10' -> 7.0, '8,5' -> 8.5).

    >>> parse_number("I'd rate it 7/10")
    7.0
    """
    m = _NUMBER.search(output or "")
    return float(m.group(0).replace(",", ".")) if m else None


class ScorerConfig(BaseModel):
    """How outputs are scored; the kind follows the dataset's task type unless chosen."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default="auto", description="auto, label, number, contains, regex, json, "
                                                  "similarity or judge")
    tolerance: float = Field(default=0.0, ge=0, description="number: allowed absolute error")
    pattern: str | None = Field(default=None, description="regex: the pattern to search for")
    threshold: float = Field(default=0.7, ge=-1, le=1, description="similarity: pass threshold")
    judge_model: str | None = Field(default=None, description="judge: registered model id")
    rubric: str = Field(default="The answer is correct, complete and consistent with the reference.",
                        description="judge: what a good answer looks like")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        kinds = ("auto", "label", "number", "contains", "regex", "json", "similarity", "judge")
        if v not in kinds:
            raise ValueError(f"unknown scorer '{v}'; choose one of {', '.join(kinds)}")
        return v

    def resolved(self, task: str) -> str:
        if self.kind != "auto":
            return self.kind
        return {"classification": "label", "scale": "number"}.get(task, "contains")

    def check(self, ws=None) -> None:
        if self.kind == "regex":
            if not self.pattern:
                raise ValueError("The regex scorer needs a pattern, e.g. ^(yes|no)$.")
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ValueError(f"The regex pattern is invalid: {e}.") from None
        if self.kind == "judge":
            if not self.judge_model:
                raise ValueError("The LLM judge needs a judge model: choose a registered model.")
            if ws is not None and not ws.registry.exists(self.judge_model):
                raise ValueError(f"The judge model '{self.judge_model}' is not registered; "
                                 "add it on the Models page or pick another.")


def score_label(output: str, target: str, labels: list[str]) -> Scored:
    parsed = extract_label(output, labels)
    if parsed is None:
        return Scored(None, 0.0, False, INVALID)
    ok = normalize(parsed) == normalize(target)
    return Scored(parsed, float(ok), ok)


def score_number(output: str, target: str, tolerance: float) -> Scored:
    value = parse_number(output)
    if value is None:
        return Scored(None, 0.0, False, INVALID)
    try:
        ok = abs(value - float(target)) <= tolerance + 1e-9
    except ValueError:
        ok = False
    return Scored(f"{value:g}", float(ok), ok)


def score_contains(output: str, target: str) -> Scored:
    ok = normalize(target) in normalize(output) if target.strip() else False
    return Scored(output.strip(), float(ok), ok)


def score_regex(output: str, pattern: str) -> Scored:
    m = re.search(pattern, output or "")
    return Scored(m.group(0) if m else output.strip(), float(bool(m)), bool(m))


def score_json(output: str) -> Scored:
    text = output.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1).strip()
    try:
        json.loads(text)
    except (ValueError, TypeError):
        return Scored(None, 0.0, False, INVALID)
    return Scored(text, 1.0, True)


def score_similarity(outputs: list[str], targets: list[str], threshold: float) -> list[Scored]:
    """Embedding cosine between each output and its reference (all-MiniLM-L6-v2)."""
    from core.embeddings import embed

    a = embed([o or "" for o in outputs])
    b = embed([t or "" for t in targets])
    sims = (a * b).sum(axis=1)
    return [Scored(o.strip(), float(s), bool(s >= threshold)) for o, s in zip(outputs, sims,
                                                                            strict=True)]


JUDGE_PROMPT = """You are grading an answer. Rubric: {rubric}

Question or input:
{input}

Reference answer:
{target}

Answer to grade:
{output}

Reply with a single score from 1 (bad) to 5 (excellent)."""


def judge_prompt(rubric: str, input_text: str, target: str, output: str) -> str:
    from core.prompts.template import Template

    # one pass: a value that contains "{input}" stays text
    return Template(JUDGE_PROMPT).render(
        {"rubric": rubric, "input": input_text, "target": target, "output": output})


def score_judge_reply(reply: str) -> Scored:
    value = parse_number(reply)
    if value is None or not 1 <= value <= 5:
        return Scored(None, 0.0, False, INVALID)
    return Scored(f"{value:g}", (value - 1) / 4, value >= 4)
