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

Ties stay dropped by `majority`: a tie holds no evidence for either label, keeping
one would be `first`'s arbitrary pick and keeping all would keep the contradiction.
Because a set whose conflicts are mostly ties then loses as much with `majority` as
with `drop` (a real 3-class set: one class halved in train), the summary counts the
ties and previews, before anything is saved, the rows each choice keeps per split
and per label (`resolution_summary`, `preview_table`, `preview_notes`).

A test split the import was given (`--test-file`, or a split column) is left as
given by default: its conflicts are counted (`test_left`) but not resolved, so the
test split still matches the file published baselines used. `with_test` holds the
effect of resolving them too (`ladder data fix --include-test`, or the Data page's
checkbox).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from core.datasets.errors import DatasetError

CHOICES = ("majority", "drop", "first")
TEST = 2  # the test part in a split assignment (train 0, validation 1, test 2)
PARTS = ("train", "validation", "test")
BIG_LOSS = 0.25  # a label losing this share of its rows in a split may be named in the notes


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


def is_tie(rows: list[int], targets: list[str]) -> bool:
    """Whether a group's most frequent labels are equally frequent (majority drops it)."""
    top = Counter(targets[i].strip() for i in rows).most_common(2)
    return len(top) > 1 and top[0][1] == top[1][1]


def split_by_test(groups: list[list[int]], parts: np.ndarray | None,
                  keep_test: bool) -> tuple[list[list[int]], list[list[int]]]:
    """(groups to resolve, groups of the given test split left as given).

    Every row of a group sits in one split, so its first row says which.
    """
    if not keep_test or parts is None:
        return groups, []
    left = [g for g in groups if int(parts[g[0]]) == TEST]
    return [g for g in groups if int(parts[g[0]]) != TEST], left


def resolution_summary(groups: list[list[int]], targets: list[str], n_rows: int,
                       parts: np.ndarray | None = None, given_test: bool = False,
                       per_label: bool = True) -> dict:
    """How many inputs conflict (and how many are ties), how many rows they hold, and what
    each choice keeps: in all (`keeps`) and per split and label (`per_split`).

    `given_test`: the test split came with the import, so its conflicts are left as given
    (`test_left`); `with_test` is the effect of resolving them too (None without one).
    `per_label` False (free text) counts rows per split only, under "(all)".

    >>> s = resolution_summary([[0, 1], [2, 3, 4]], ["a", "b", "a", "a", "b", "c"], 6)
    >>> s["ties"], s["keeps"], s["per_split"]["majority"]
    (1, {'majority': 3, 'drop': 1, 'first': 4}, {'all': {'a': 2, 'b': 0, 'c': 1}})
    """
    resolve, left = split_by_test(groups, parts, given_test)
    labels = [(t.strip() or "(empty)") if per_label else "(all)" for t in targets]
    return {"inputs": len(groups), "rows": sum(len(g) for g in groups),
            "ties": sum(is_tie(g, targets) for g in groups),
            "test_given": bool(given_test),
            "test_left": {"inputs": len(left), "rows": sum(len(g) for g in left)},
            **_kept(resolve, targets, labels, n_rows, parts),
            "with_test": _kept(groups, targets, labels, n_rows, parts) if given_test else None}


def _kept(groups: list[list[int]], targets: list[str], labels: list[str], n_rows: int,
            parts: np.ndarray | None) -> dict:
    """Rows kept by each choice, in all and per split and label (with "before")."""
    names = [PARTS[int(p)] for p in parts] if parts is not None else ["all"] * n_rows

    def count(dropped: set[int]) -> dict:
        out: dict[str, Counter] = {}
        for i in range(n_rows):
            out.setdefault(names[i], Counter())[labels[i]] += 0 if i in dropped else 1
        order = [p for p in (*PARTS, "all") if p in out]
        return {p: dict(sorted(out[p].items())) for p in order}

    drops = {how: set(rows_to_drop(groups, targets, how)) for how in CHOICES}
    return {"keeps": {how: n_rows - len(d) for how, d in drops.items()},
            "per_split": {"before": count(set()), **{how: count(d) for how, d in drops.items()}}}


def effect(res: dict, include_test: bool = False) -> dict:
    """`keeps` and `per_split` of a summary: with the given test file's conflicts resolved
    (`include_test`), or left as given."""
    return res["with_test"] if include_test and res.get("with_test") else res


def preview_table(res: dict, include_test: bool = False) -> pd.DataFrame:
    """Rows per split and label before the fix and kept by each choice (one row per label,
    then one "all labels" row per split); empty for a report made before the preview."""
    per = effect(res, include_test).get("per_split")
    if not per:
        return pd.DataFrame(columns=["split", "label", "before", *CHOICES])
    out = []
    for part, counts in per["before"].items():
        names = list(counts) if list(counts) != ["(all)"] else []
        for label in [*names, None]:
            row = {"split": part, "label": label if label is not None else "all labels"}
            for col in ("before", *CHOICES):
                c = per[col][part]
                row[col] = c[label] if label is not None else sum(c.values())
            out.append(row)
    return pd.DataFrame(out, columns=["split", "label", "before", *CHOICES])


def preview_notes(res: dict, include_test: bool = False) -> list[str]:
    """Plain sentences on what the table means: ties, the given test file, big losses."""
    notes = []
    eff = effect(res, include_test)
    ties, n = res.get("ties", 0), res["inputs"]
    if ties:
        same = " (here majority keeps exactly the rows drop keeps)" if (
            eff["keeps"]["majority"] == eff["keeps"]["drop"]) else ""
        notes.append(f"{ties:,} of {n:,} conflicting inputs are ties (no most frequent label): "
                     f"majority drops them, as drop does{same}.")
    left = res.get("test_left") or {}
    if left.get("inputs"):
        if include_test:
            notes.append(f"The given test file's {left['inputs']:,} conflicting inputs "
                         f"({left['rows']:,} rows) are resolved too: its test split will no "
                         "longer match the file published baselines used.")
        else:
            notes.append(f"{left['inputs']:,} conflicting inputs ({left['rows']:,} rows) in the "
                         "given test file are left as given; to resolve them too, add "
                         "--include-test (CLI) or tick \"Also fix the given test file\" (page).")
    per = eff.get("per_split") or {}
    for how in CHOICES if per else ():
        losses = [(b - per[how][p][lab], 1 - per[how][p][lab] / b, p, lab, b, per[how][p][lab])
                  for p, counts in per["before"].items() for lab, b in counts.items()
                  if b and 1 - per[how][p][lab] / b >= BIG_LOSS]
        worst = max(losses, default=None)  # the most rows lost, among labels losing a share
        if worst:
            _, share, p, lab, b, k = worst
            what = "all rows" if lab == "(all)" else f"'{lab}'"
            where = "" if p == "all" else f" in {p}"
            notes.append(f"{how} cuts {what}{where} from {b:,} to {k:,} rows (-{share:.0%}).")
    return notes


def several_references(groups: list[list[int]], targets: list[str]) -> dict:
    """Free text: how many inputs have several distinct references, and the most any has.

    >>> several_references([[0, 1, 3]], ["a", "b", "x", "a"])
    {'multi_reference_inputs': 1, 'max_references': 2}
    """
    sizes = [len({targets[i].strip() for i in g}) for g in groups]
    return {"multi_reference_inputs": len(sizes), "max_references": max(sizes, default=1)}
