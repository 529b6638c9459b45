"""Train / validation / test splits by ratio and seed, stratified for classification.

Rows are split in groups: every row whose input text is the same (after
case-folding and collapsing white space) goes to the same split, so an exact
duplicate can never leak from train into test. For classification (and
numeric scales) the groups are stratified by label, so each split keeps the
label proportions; rows without a label form their own stratum.

When the import was given some of the splits (a test file, a split column),
those rows stay where they were given and only the missing parts are cut out
of the given train rows, by the same rules.

Trade-off: grouping makes the split sizes approximate (a group is never cut),
which is the price of leakage-free splits by construction; near-duplicates
can still leak and are caught by the quality report's leakage check. Splits
brought by the user are not regrouped: an input they put in both train and
test is reported as leakage, not moved.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from core.datasets.errors import DatasetError
from core.datasets.schema import Mapping
from core.datasets.text import normalise
from core.datasets.versions import SPLITS, GivenSplit, Split


def check_ratios(val: float, test: float) -> None:
    for label, r in (("--val", val), ("--test", test)):
        if not (0 <= r < 1):
            raise DatasetError(f"{label} {r} is not a fraction between 0 and 1; give e.g. 0.1.")
    if val + test >= 1:
        raise DatasetError(f"--val {val} + --test {test} leave no rows for training; keep their "
                           "sum below 1 (e.g. 0.1 and 0.1).")


def make_split(frame: pd.DataFrame, mapping: Mapping, val: float = 0.1, test: float = 0.1,
               seed: int = 0, given: GivenSplit | None = None) -> Split:
    """Assign each row to train (0), validation (1) or test (2).

    With a `given` split, its rows keep their parts and only the parts it lacks are cut
    from its train rows (`val` and `test` are then fractions of those train rows).

    >>> df = pd.DataFrame({"t": [f"x{i}" for i in range(10)], "y": ["a", "b"] * 5})
    >>> make_split(df, Mapping(input_col="t", target_col="y"), 0.2, 0.2).sizes()
    {'train': 6, 'validation': 2, 'test': 2}
    >>> g = GivenSplit([0] * 8 + [2] * 2, ("train", "test"))
    >>> make_split(df, Mapping(input_col="t", target_col="y"), 0.25, 0.5, given=g).sizes()
    {'train': 6, 'validation': 2, 'test': 2}
    """
    if given is not None:
        return _complete(frame, mapping, given, val, test, seed)
    check_ratios(val, test)
    n = len(frame)
    if n < 1:
        raise DatasetError("the dataset has no rows to split; import data first.")
    keys = [normalise(t) for t in frame[mapping.input_col].astype(str)]
    targets = frame[mapping.target_col].astype(str).str.strip().tolist()
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k or f"\x00empty{i}"].append(i)  # empty inputs are not one group
    stratified = mapping.task in ("classification", "scale")
    strata: dict[str, list[list[int]]] = defaultdict(list)
    for rows in groups.values():
        label = Counter(targets[i] for i in rows).most_common(1)[0][0] if stratified else ""
        strata[label].append(rows)
    rng = np.random.default_rng(seed)
    assignment = np.zeros(n, dtype=np.uint8)
    for label in sorted(strata):
        units = strata[label]
        order = rng.permutation(len(units))
        total = sum(len(u) for u in units)
        want_test, want_val = round(total * test), round(total * val)
        filled = [0, 0, 0]
        for k in order:
            rows = units[k]
            if filled[2] < want_test:
                part = 2
            elif filled[1] < want_val:
                part = 1
            else:
                part = 0
            filled[part] += len(rows)
            assignment[rows] = part
    if not (assignment == 0).any():
        raise DatasetError("the split left no rows for training; lower --val and --test.")
    counts = split_counts(assignment, targets if stratified else None)
    return Split(float(val), float(test), int(seed), stratified, assignment, counts)


def _complete(frame: pd.DataFrame, mapping: Mapping, given: GivenSplit, val: float,
              test: float, seed: int) -> Split:
    """The given split with its missing parts cut out of its train rows."""
    val = 0.0 if "validation" in given.parts else val
    test = 0.0 if "test" in given.parts else test
    check_ratios(val, test)
    assignment = given.assignment.copy()
    pool = np.flatnonzero(assignment == 0)
    if not len(pool):
        raise DatasetError("the given splits leave no rows for training; give a train file "
                           "with rows, or name some rows 'train' in the split column.")
    if val or test:
        cut = make_split(frame.iloc[pool].reset_index(drop=True), mapping, val, test, seed)
        assignment[pool] = cut.assignment
    stratified = mapping.task in ("classification", "scale")
    targets = frame[mapping.target_col].astype(str).str.strip().tolist()
    counts = split_counts(assignment, targets if stratified else None)
    return Split(float(val), float(test), int(seed), stratified, assignment, counts, given.parts)


def split_counts(assignment: np.ndarray, targets: list[str] | None) -> dict:
    """Rows per label in each split: {"train": {"billing": 90, ...}, ...}."""
    out: dict[str, dict[str, int]] = {}
    for i, name in enumerate(SPLITS):
        idx = np.flatnonzero(assignment == i)
        if targets is None:
            out[name] = {"(all)": int(len(idx))}
        else:
            c = Counter(targets[j] or "(empty)" for j in idx)
            out[name] = dict(sorted(c.items()))
    return out


def carry_split(split: Split, keep: np.ndarray, targets: list[str] | None) -> Split:
    """The split of a version with only the rows in `keep` (sorted row indices) left."""
    assignment = split.assignment[keep]
    return Split(split.val_ratio, split.test_ratio, split.seed, split.stratified, assignment,
                 split_counts(assignment, targets), split.given)


def split_warnings(split: Split) -> list[str]:
    """What an empty validation or test split leaves undone (one sentence each)."""
    out = []
    if not len(split.indices("validation")):
        out.append("The validation split is empty: a fine-tune cannot stop early or watch for "
                   "overfitting; cut one with --val 0.1 (the Split tab's validation fraction).")
    if not len(split.indices("test")):
        out.append("The test split is empty: the Prompt Lab, comparisons and before/after "
                   "score the test split; cut one with --test 0.1.")
    return out
