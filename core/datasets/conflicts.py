"""Label conflicts: the same input with different labels, and the three ways to resolve them.

A conflict group is every labelled row whose input is the same (case-folded,
white space collapsed) and whose labels (trimmed) are not all equal. With a
split, rows are grouped within their split only: an input that sits in train
and in test is leakage, reported and fixed as such, and resolving a conflict
never reaches into another split (a given test file stays as it was).

- `majority`: keep the rows carrying the group's most frequent label; a tie
  between the top labels drops the whole group.
- `drop`: drop every row of the group.
- `first`: keep the rows carrying the label of the group's first row.

Rows with an empty label are never part of a group (drop them with the
empty-rows fix). Trade-off: the label itself is never rewritten; a fix only
drops rows, so every kept row is still exactly what the file said.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from core.datasets.errors import DatasetError

CHOICES = ("majority", "drop", "first")


def conflict_groups(keys: list[str], targets: list[str],
                    parts: np.ndarray | None = None) -> list[list[int]]:
    """Row groups (in row order) of one normalised input, one split, more than one label.

    >>> conflict_groups(["a", "a", "b", "a"], ["x", "y", "x", "x"])
    [[0, 1, 3]]
    """
    rows_of: dict[tuple, list[int]] = {}
    for i, (k, t) in enumerate(zip(keys, targets, strict=True)):
        if k and t.strip():
            rows_of.setdefault((int(parts[i]) if parts is not None else 0, k), []).append(i)
    return [rows for rows in rows_of.values()
            if len({targets[i].strip() for i in rows}) > 1]


def rows_to_drop(groups: list[list[int]], targets: list[str], how: str) -> list[int]:
    """The rows a resolution drops, sorted.

    >>> g = [[0, 1, 2], [3, 4]]
    >>> t = ["x", "y", "x", "p", "q"]
    >>> rows_to_drop(g, t, "majority"), rows_to_drop(g, t, "drop"), rows_to_drop(g, t, "first")
    ([1, 3, 4], [0, 1, 2, 3, 4], [1, 4])
    """
    if how not in CHOICES:
        raise DatasetError(f"unknown way to resolve conflicts '{how}'; use majority, drop or "
                           "first.")
    out: list[int] = []
    for rows in groups:
        labels = [targets[i].strip() for i in rows]
        if how == "drop":
            out += rows
            continue
        if how == "first":
            keep = labels[0]
        else:
            (keep, top), *rest = Counter(labels).most_common()
            if rest and rest[0][1] == top:  # a tie: no majority, drop the input
                out += rows
                continue
        out += [i for i, lab in zip(rows, labels, strict=True) if lab != keep]
    return sorted(out)


def resolution_summary(groups: list[list[int]], targets: list[str], n_rows: int) -> dict:
    """How many inputs conflict, how many rows they hold, and the rows each choice keeps."""
    return {"inputs": len(groups), "rows": sum(len(g) for g in groups),
            "keeps": {how: n_rows - len(rows_to_drop(groups, targets, how)) for how in CHOICES}}


def several_references(groups: list[list[int]], targets: list[str]) -> dict:
    """Free text: how many inputs have several distinct references, and the most any has.

    >>> several_references([[0, 1, 3]], ["a", "b", "x", "a"])
    {'multi_reference_inputs': 1, 'max_references': 2}
    """
    sizes = [len({targets[i].strip() for i in g}) for g in groups]
    return {"multi_reference_inputs": len(sizes), "max_references": max(sizes, default=1)}
