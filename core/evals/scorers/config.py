"""`ScorerConfig`: which scorer a run uses and its settings, and what `auto` picks.

`auto` follows the task: classification -> label, scale -> number; free text by the
targets' shape: JSON objects -> json_fields, short answers (median at most
`SHORT_WORDS` words) -> token_f1, anything longer -> chrf (ROUGE-L shown beside it).
Trade-off: the shape is read from the evaluated targets, so one rule fits a whole
run; a dataset that mixes short and long answers gets the rule of its median.
"""

from __future__ import annotations

import re
import statistics

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.evals.scorers import registry
from core.evals.scorers.base import parse_json_object

SHORT_WORDS = 5
_BY_TASK = {"classification": "label", "scale": "number"}


def _flat(targets) -> list[str]:
    out: list[str] = []
    for t in targets or []:
        out.extend([t] if isinstance(t, str) else list(t))
    return [t for t in out if t and t.strip()]


def target_shape(targets) -> tuple[str, str]:
    """(scorer, reason) that `auto` picks for free-text targets (str or lists of references).

    >>> target_shape(['{"a": 1}', '{"a": 2}'])[0]
    'json_fields'
    >>> target_shape(["Paris", "Marie Curie", "1889"])[0]
    'token_f1'
    >>> target_shape(["The Eagle is a cheap coffee shop near the river, rated 5 out of 5."])[0]
    'chrf'
    """
    flat = _flat(targets)
    if not flat:
        return "chrf", "there are no targets to read, so the general text metric chrF is used"
    if all(t.strip().startswith("{") and parse_json_object(t) is not None for t in flat):
        return "json_fields", (f"all {len(flat)} targets are JSON objects, so each output is "
                               "scored by the share of the target's fields it gets right")
    median = float(statistics.median(len(re.findall(r"\w+", t)) for t in flat))
    if median <= SHORT_WORDS:
        return "token_f1", (f"the targets are short answers (median {median:g} words, at most "
                            f"{SHORT_WORDS}), so word-overlap F1 is used")
    return "chrf", (f"the targets are running text (median {median:g} words), so chrF is used "
                    "(ROUGE-L shown beside it)")


class ScorerConfig(BaseModel):
    """How outputs are scored; the kind follows the dataset's task type unless chosen."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default="auto", description="auto or a registered scorer (see "
                                                  "core.evals.scorers.names())")
    tolerance: float = Field(default=0.0, ge=0, description="number: allowed absolute error")
    pattern: str | None = Field(default=None, description="regex: the pattern to search for")
    threshold: float = Field(default=0.7, ge=-1, le=1, description="similarity: pass threshold")
    min_score: float = Field(default=0.5, ge=0, le=1,
                             description="token_f1, chrf, bleu, rouge_l: a row passes at or "
                                         "above this score (0-1)")
    judge_model: str | None = Field(default=None, description="judge: registered model id")
    rubric: str = Field(default="The answer is correct, complete and consistent with the reference.",
                        description="judge: what a good answer looks like")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        choices = ["auto", *registry.names()]
        if v not in choices:
            raise ValueError(f"unknown scorer '{v}'; choose one of {', '.join(choices)}")
        return v

    def resolved(self, task: str, targets: list | None = None) -> str:
        """The scorer this config uses on `task` with these targets (str or reference lists)."""
        if self.kind != "auto":
            return self.kind
        if task in _BY_TASK:
            return _BY_TASK[task]
        return target_shape(targets)[0]

    def explain(self, task: str, targets: list | None = None) -> str:
        """One sentence: which scorer is used and why."""
        if self.kind != "auto":
            return f"{self.kind} was chosen explicitly: {registry.get(self.kind).help}"
        if task in _BY_TASK:
            kind = _BY_TASK[task]
            return f"auto chose {kind}: the task is {task.replace('_', ' ')}."
        kind, reason = target_shape(targets)
        return f"auto chose {kind}: {reason}."

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
