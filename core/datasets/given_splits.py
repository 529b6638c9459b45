"""Splits the user brings: a separate test (and validation) file, or a column naming each row's split.

`combine` stacks the train file, then the validation file, then the test file
into one table (rows in file order, so the test split is exactly the test
file's rows) and returns which part each row came from; `from_column` reads
the same from a split column (`train`, `validation`, `test`; `dev`, `val` and
`valid` mean validation). The result is a `GivenSplit` that the version keeps;
the parts not given are cut later from the given train rows.

Trade-off: the files must have the same columns (in any order) and are never
aligned or padded, so a file exported with a different layout is refused with
the columns named instead of being silently filled with empty cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.datasets.errors import DatasetError
from core.datasets.readers import Table
from core.datasets.versions import SPLITS, GivenSplit

SPLIT_NAMES = {"train": "train", "validation": "validation", "dev": "validation",
               "val": "validation", "valid": "validation", "test": "test"}


def from_column(frame: pd.DataFrame, col: str, filename: str = "the file") -> GivenSplit:
    """Each row's part from the values of `col` (case and surrounding spaces ignored).

    >>> from_column(pd.DataFrame({"s": ["train", "Dev", "test ", "train"]}), "s").sizes()
    {'train': 2, 'validation': 1, 'test': 1}
    """
    if col not in frame.columns:
        shown = ", ".join(f"'{c}'" for c in list(frame.columns)[:12])
        raise DatasetError(f"the split column '{col}' does not exist in {filename}; choose one "
                           f"of: {shown}.")
    values = frame[col].astype(str).str.strip().str.lower()
    unknown = sorted({v for v in values if v not in SPLIT_NAMES})
    if unknown:
        shown = ", ".join(f"'{v}'" if v else "'' (empty)" for v in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DatasetError(f"the split column '{col}' of {filename} has values that name no "
                           f"split: {shown}{more}; use train, validation (or dev, val, valid) "
                           "or test in every row.")
    parts = values.map(SPLIT_NAMES)
    if not (parts == "train").any():
        raise DatasetError(f"the split column '{col}' of {filename} names no train rows; mark "
                           "the rows to train on with 'train'.")
    assignment = parts.map({s: i for i, s in enumerate(SPLITS)}).to_numpy(dtype=np.uint8)
    return GivenSplit(assignment, tuple(sorted(set(parts), key=SPLITS.index)))


def combine(train: Table, test: Table | None = None, validation: Table | None = None,
            max_rows: int | None = None) -> tuple[Table, GivenSplit]:
    """One table of train, validation and test rows (in that order) and the given split."""
    parts = [("train", train)] + [(s, t) for s, t in (("validation", validation),
                                                       ("test", test)) if t is not None]
    cols = list(train.frame.columns)
    for part, t in parts[1:]:
        _same_columns(train, t, part)
    for (pa, a), (pb, b) in ((x, y) for i, x in enumerate(parts) for y in parts[i + 1:]):
        if _same_rows(a.frame, b.frame[list(a.frame.columns)]):
            raise DatasetError(f"the {pb} file {b.filename} holds exactly the same rows as the "
                               f"{pa} file {a.filename}; scores on it would measure memory, not "
                               f"the task. Give the held-out {pb} file.")
    frame = pd.concat([t.frame[cols] for _, t in parts], ignore_index=True)
    if max_rows is not None and len(frame) > max_rows:
        raise DatasetError(f"the files have {len(frame):,} rows together, over the {max_rows:,} "
                           "row limit; sample the data or raise LADDER_MAX_ROWS.")
    assignment = np.concatenate([np.full(len(t.frame), SPLITS.index(p), dtype=np.uint8)
                                 for p, t in parts])
    names = " + ".join(f"{t.filename} ({p})" for p, t in parts)
    table = Table(frame, names, train.fmt, train.encoding, train.delimiter, list(train.notes))
    return table, GivenSplit(assignment, tuple(p for p, _ in parts))


def _same_columns(train: Table, other: Table, part: str) -> None:
    cols, theirs = list(train.frame.columns), list(other.frame.columns)
    missing = [c for c in cols if c not in theirs]
    extra = [c for c in theirs if c not in cols]
    if not (missing or extra):
        return
    say = []
    if missing:
        say.append(f"lacks the column{'s' if len(missing) > 1 else ''} "
                   + ", ".join(f"'{c}'" for c in missing) + f" of {train.filename}")
    if extra:
        say.append(f"has the column{'s' if len(extra) > 1 else ''} "
                   + ", ".join(f"'{c}'" for c in extra) + f" that {train.filename} has not")
    raise DatasetError(f"the {part} file {other.filename} " + " and ".join(say)
                       + "; give it the same columns as the train file ("
                       + ", ".join(f"'{c}'" for c in cols) + ").")


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """The same rows, in any order (only compared in full when the shapes agree)."""
    if a.shape != b.shape:
        return False
    return sorted(map(tuple, a.to_numpy().tolist())) == sorted(map(tuple, b.to_numpy().tolist()))
