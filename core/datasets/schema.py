"""Column mapping and task type: which column is the input, which the target.

The task type is inferred from the target column: all numbers -> a numeric
`scale`; few distinct values -> `classification`; otherwise `free_text`. The
user can override it. Validation turns a mapping that cannot work (a column
that does not exist, no targets at all, a single class) into a `DatasetError`.

Trade-off: inference looks only at the target values, so a numeric label
code such as 0/1 becomes a `scale`; the user changes it to classification with
one choice, which is cheaper than guessing from column names.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from core.datasets.errors import DatasetError

TaskType = Literal["classification", "scale", "free_text"]
TASKS: tuple[str, ...] = ("classification", "scale", "free_text")
MAX_CLASSES = 50


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


def infer_task(values: pd.Series) -> str:
    """Guess the task type from the target values.

    >>> infer_task(pd.Series(["pos", "neg", "pos", ""]))
    'classification'
    >>> infer_task(pd.Series(["1", "5", "3"]))
    'scale'
    """
    vals = [str(v).strip() for v in values if str(v).strip()]
    if not vals:
        return "classification"
    distinct = set(vals)
    if all(_is_number(v) for v in distinct):
        return "scale"
    if len(distinct) <= MAX_CLASSES and len(distinct) <= max(2, 0.5 * len(vals)):
        return "classification"
    return "free_text"


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
                     allow_unlabelled: bool = False) -> None:
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
    if mapping.task == "classification" and len(filled) == len(targets):
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
