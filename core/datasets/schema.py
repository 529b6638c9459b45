"""Column mapping and task type: which column is the input, which the target.

The task type is inferred from the shape of the target column (`guess_task`): all
numbers -> a numeric `scale`; targets that look like labels (short, no sentence
punctuation, most rows sharing their target with other rows) -> `classification`, at
any count up to `MAX_CLASSES` labels (intent sets have 50-200); JSON objects and
everything else -> `free_text` (JSON objects are scored field by field). The guess comes
with one sentence that says why and how to change it; the user can override it at import
or later (`retask`). Validation turns a mapping that cannot work (a column that does not
exist, no targets at all, a single class) into a `DatasetError`.

Trade-off: inference looks only at the target values, so a numeric label
code such as 0/1 becomes a `scale`; the user changes it to classification with
one choice, which is cheaper than guessing from column names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from core.datasets.errors import DatasetError

TaskType = Literal["classification", "scale", "free_text"]
TASKS: tuple[str, ...] = ("classification", "scale", "free_text")
MAX_CLASSES = 1000  # labels at most, for a classification guess (intent sets: 50-200)
LABEL_WORDS = 6  # a label has at most this many words in most rows (median)
LABEL_CHARS = 60  # ... and at most this many characters in 9 of 10 rows
SENTENCE_END = re.compile(r"[.!?]$|[.!?]\s+\w")


class Mapping(BaseModel):
    """Which columns hold the model input, the expected output and optional context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_col: str
    target_col: str
    context_col: str | None = None
    task: TaskType = "classification"

    def columns(self) -> list[str]:
        return [c for c in (self.input_col, self.context_col, self.target_col) if c]


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return s.strip().lower() not in {"nan", "inf", "-inf", "infinity"}


@dataclass(frozen=True)
class TaskGuess:
    """The task inferred from the targets, the shape it read, and one sentence saying why."""

    task: str
    shape: str  # labels, numbers, text, json, empty
    reason: str


def _is_json_object(s: str) -> bool:
    if not s.startswith("{"):
        return False
    try:
        return isinstance(json.loads(s), dict)
    except ValueError:
        return False


def _words(n: float) -> str:
    return f"{n:g} word{'' if n == 1 else 's'}"


def guess_task(values: pd.Series, change: str = "") -> TaskGuess:
    """Guess the task type from the shape of the target values, with the reason.

    `change`: how the user changes the choice, appended to the reason (e.g. "change it with
    `ladder data retask NAME --task T`").

    >>> guess_task(pd.Series(["pos", "neg", "pos", ""])).task
    'classification'
    >>> guess_task(pd.Series(["1", "5", "3"])).task
    'scale'
    >>> guess_task(pd.Series(['{"a": 1}', '{"a": 2}'])).shape
    'json'
    """
    vals = [str(v).strip() for v in values if str(v).strip() and str(v) != "nan"]
    tail = f"; {change}" if change else ""
    if not vals:
        return TaskGuess("classification", "empty",
                         f"classification: no targets yet, so nothing to read a shape from{tail}.")
    n = len(vals)
    counts = pd.Series(vals).value_counts()
    distinct = len(counts)
    if all(_is_number(v) for v in counts.index):
        lo, hi = min(map(float, counts.index)), max(map(float, counts.index))
        return TaskGuess("scale", "numbers", f"scale: every target is a number ({lo:g} to "
                         f"{hi:g}); choose classification if they are label codes{tail}.")
    if all(_is_json_object(v) for v in counts.index):
        return TaskGuess("free_text", "json",
                         f"free text: every target is a JSON object, so answers are scored field "
                         f"by field (json_fields) and end when the object closes{tail}.")
    words = np.array([len(v.split()) for v in vals])
    chars = np.array([len(v) for v in vals])
    sentences = sum(bool(SENTENCE_END.search(v)) for v in counts.index) / distinct
    repeated = float(counts[counts >= 2].sum()) / n  # share of rows sharing their target
    few = distinct <= max(2, 0.5 * n)
    short = (np.median(words) <= LABEL_WORDS and np.percentile(chars, 90) <= LABEL_CHARS
             and sentences <= 0.1)
    if few and repeated >= 0.5 and distinct <= MAX_CLASSES and (short or distinct <= 20):
        return TaskGuess(
            "classification", "labels",
            f"classification: {distinct:,} distinct targets over {n:,} rows, "
            f"{'short (median ' + _words(np.median(words)) + ')' if short else 'few'} and "
            f"repeated ({repeated:.0%} of rows share their target with another row){tail}.")
    why = (f"{distinct:,} distinct targets over {n:,} rows" if distinct > MAX_CLASSES else
           f"{1 - repeated:.0%} of rows have a target no other row has" if repeated < 0.5 or
           not few else f"the targets read as text (median {_words(np.median(words))}, "
           f"{sentences:.0%} with sentence punctuation)")
    return TaskGuess("free_text", "text", f"free text: {why}{tail}.")


def infer_task(values: pd.Series) -> str:
    """The task type `guess_task` infers from the target values.

    >>> infer_task(pd.Series(["pos", "neg", "pos", ""]))
    'classification'
    >>> infer_task(pd.Series(["1", "5", "3"]))
    'scale'
    """
    return guess_task(values).task


def unlabelled(frame: pd.DataFrame, mapping: Mapping) -> list[int]:
    """Indices of the rows that have an input but no target yet (a teacher can label them).

    >>> unlabelled(pd.DataFrame({"t": ["a", "b", ""], "y": ["x", " ", ""]}),
    ...            Mapping(input_col="t", target_col="y"))
    [1]
    """
    if mapping.target_col not in frame.columns:
        return []
    ins = frame[mapping.input_col].astype(str).str.strip().ne("")
    empty = frame[mapping.target_col].fillna("").astype(str).str.strip().eq("")
    return [int(i) for i in frame.index[ins & empty]]


def validate_mapping(frame: pd.DataFrame, mapping: Mapping, name: str = "the data", *,
                     allow_unlabelled: bool = False, allow_one_class: bool = False) -> None:
    """Raise `DatasetError` when the mapping cannot be used with this table.

    Rows without a target are allowed (a teacher model can label them); a target column
    empty in every row only with `allow_unlabelled` (an import of rows not labelled yet).
    """
    cols = list(frame.columns)
    shown = ", ".join(f"'{c}'" for c in cols[:12]) + (" ..." if len(cols) > 12 else "")
    for role, col in (("input", mapping.input_col), ("target", mapping.target_col),
                      ("context", mapping.context_col)):
        if col is not None and col not in cols:
            hint = (" (to import rows that have no labels yet, name the column to create "
                    "and add --unlabelled, or choose 'no labels yet' on the Data page)"
                    if role == "target" else "")
            raise DatasetError(f"the {role} column '{col}' does not exist in {name}; "
                               f"choose one of: {shown}{hint}.")
    if mapping.input_col == mapping.target_col:
        raise DatasetError(f"the input and target are both '{mapping.input_col}'; map the "
                           "target to the column that holds the expected answer.")
    if mapping.context_col and mapping.context_col in (mapping.input_col, mapping.target_col):
        raise DatasetError(f"the context column '{mapping.context_col}' is already the input "
                           "or target; choose a different context column or none.")
    targets = frame[mapping.target_col].astype(str).str.strip()
    filled = targets[targets != ""]
    if filled.empty and not allow_unlabelled:
        raise DatasetError(f"the target column '{mapping.target_col}' is empty in every row; "
                           "map the column that holds the labels or answers, or add --unlabelled "
                           "('no labels yet' on the Data page) to label the rows with a model.")
    if not (frame[mapping.input_col].astype(str).str.strip() != "").any():
        raise DatasetError(f"the input column '{mapping.input_col}' is empty in every row; "
                           "map the column that holds the text to send to the model.")
    if mapping.task == "classification" and len(filled) == len(targets) and not allow_one_class:
        classes = filled.unique()
        if len(classes) < 2:
            raise DatasetError(
                f"classification needs at least two classes but '{mapping.target_col}' has only "
                f"'{classes[0]}'; map another target column or choose the free_text task.")
    if mapping.task == "scale":
        bad = next((v for v in filled if not _is_number(v)), None)
        if bad is not None:
            raise DatasetError(f"a numeric scale needs numbers but '{mapping.target_col}' holds "
                               f"'{bad[:40]}'; choose classification or free_text.")
