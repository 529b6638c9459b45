"""The rows an evaluation runs on: a split of a dataset version, or a seeded sample of it.

Each row is a plain dict: `row_id` (the row's index in the version, stable across
runs), `input`, `target`, `targets` (every reference), `context` when mapped, and
every column by its own name so templates can use any mapped column.

Free text: rows of the evaluated split that share an input (and context) are one
example with several references: one row, the first row's id and target, `targets`
listing every distinct reference in file order, counted once (a `limit` samples
such examples). Classification and scales keep one row per line (the same input
with two labels is a conflict the data report flags, not a second reference).
Train rows are always one per line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.datasets.errors import DatasetError
from core.datasets.versions import SPLITS, Version, get_split, get_version, load_frame


@dataclass
class EvalRows:
    version: Version
    split: str
    rows: list[dict]
    train_rows: list[dict]
    labels: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.version.mapping.task


def row_record(frame, i: int, mapping) -> dict:
    """Row `i` of a version's frame as every prompt reads it: each column by name, `row_id`,
    `input`, `target` and `context` (empty when the dataset maps none)."""
    rec = {str(c): ("" if frame.iat[i, j] is None else str(frame.iat[i, j]))
           for j, c in enumerate(frame.columns)}
    rec.update(row_id=int(i), input=rec.get(mapping.input_col, ""),
               target=rec.get(mapping.target_col, ""))
    rec["context"] = rec.get(mapping.context_col, "") if mapping.context_col else ""
    return rec


def references(rows: list[dict]) -> list[list[str]]:
    """Each row's references, as every scorer takes them.

    >>> references([{"target": "a", "targets": ["a", "b"]}, {"target": "c"}])
    [['a', 'b'], ['c']]
    """
    return [list(r.get("targets") or [r["target"]]) for r in rows]


def _examples(frame, idx: np.ndarray, mapping, group: bool,
              parts: np.ndarray | None = None) -> list[list[int]]:
    """Row indices of `idx` grouped into examples: by stripped input and context (and split,
    given `parts`) when `group`, else one each; groups in the order of their first row."""
    if not group:
        return [[int(i)] for i in idx]
    col = frame.columns.get_loc
    ins = frame.iloc[idx, col(mapping.input_col)].tolist()
    ctx = (frame.iloc[idx, col(mapping.context_col)].tolist() if mapping.context_col
           else [""] * len(idx))
    groups: dict[tuple, list[int]] = {}
    out: list[list[int]] = []
    for i, a, c in zip(idx, ins, ctx, strict=True):
        key = ("" if a is None else str(a).strip(), "" if c is None else str(c).strip(),
               int(parts[i]) if parts is not None else 0)
        if not key[0]:  # an empty input stays alone (and is dropped later)
            out.append([int(i)])
        elif key in groups:
            groups[key].append(int(i))
        else:
            groups[key] = [int(i)]
            out.append(groups[key])
    return out


def _merged(rows: list[dict]) -> dict:
    """One example from the rows of one input: the first row with a target, every distinct
    reference (compared stripped) in file order."""
    good = [r for r in rows if r["target"].strip()] or rows[:1]
    refs: dict[str, str] = {}
    for r in good:
        refs.setdefault(r["target"].strip(), r["target"])
    return dict(good[0], targets=list(refs.values()))


def load_rows(ws, dataset: str, split: str = "test", *, limit: int | None = None,
              seed: int = 0, version: int | None = None) -> EvalRows:
    """Rows of `split` ("train", "validation", "test" or "all"); `limit` takes a seeded sample."""
    v = get_version(ws, dataset, version)
    frame = load_frame(ws, v)
    m = v.mapping
    sp = get_split(ws, v)
    if split == "all":
        idx = np.arange(len(frame))
    elif split in SPLITS:
        if sp is None:
            raise DatasetError(
                f"dataset '{dataset}' (version {v.number}) has no splits yet; make them on the "
                f"Data page or with `ladder data split {dataset} --val 0.1 --test 0.1`.")
        idx = sp.indices(split)
        if len(idx) == 0:
            raise DatasetError(f"the {split} split of '{dataset}' is empty; split again with a "
                               f"larger {split} ratio.")
    else:
        raise DatasetError(f"unknown split '{split}'; use train, validation, test or all.")
    parts = (sp.assignment if split == "all" and sp is not None
             and len(sp.assignment) == len(frame) else None)
    units = _examples(frame, idx, m, m.task == "free_text", parts)
    if limit is not None:
        if limit < 1:
            raise DatasetError("--limit must be at least 1.")
        if limit < len(units):
            pick = np.sort(np.random.default_rng(seed).choice(len(units), size=limit,
                                                               replace=False))
            units = [units[int(i)] for i in pick]
    rows = [_merged([row_record(frame, i, m) for i in unit]) for unit in units]
    rows = [r for r in rows if r["input"].strip() and r["target"].strip()]
    train_idx = sp.indices("train") if sp is not None else np.arange(0)
    train = [row_record(frame, int(i), m) for i in train_idx]
    train = [dict(r, targets=[r["target"]]) for r in train
             if r["input"].strip() and r["target"].strip()]
    return EvalRows(v, split, rows, train, labels_of(frame, m))


def labels_of(frame, mapping) -> list[str]:
    """The sorted distinct labels of a classification version (none for other tasks)."""
    if mapping.task != "classification":
        return []
    col = frame[mapping.target_col].astype(str).str.strip()
    return sorted(x for x in col.unique() if x)


def fixed_examples(train_rows: list[dict], k: int, seed: int = 0,
                   labels: list[str] | None = None) -> list[dict]:
    """k train rows drawn stratified by label, seeded, in a shuffled order.

    Each label appears once while k allows, the rest go to labels in proportion to their
    frequency; the order is shuffled, so the last example (the one a small model copies
    most) is not always the alphabetically last label. Only train rows are ever used.

    >>> rows = [{"row_id": i, "target": t} for i, t in enumerate("aaaaaabbbc")]
    >>> sorted(r["target"] for r in fixed_examples(rows, 5, labels=["a", "b", "c"]))
    ['a', 'a', 'a', 'b', 'c']
    """
    if k <= 0 or not train_rows:
        return []
    rng = np.random.default_rng(seed)
    k = min(k, len(train_rows))
    groups = {lab: [r for r in train_rows if r["target"] == lab] for lab in labels or []}
    groups = {lab: g for lab, g in groups.items() if g}
    if not groups:
        return [train_rows[i] for i in rng.permutation(len(train_rows))[:k]]
    quota = _allocate(k, {lab: len(g) for lab, g in groups.items()})
    picked = []
    for lab, n in quota.items():
        g = groups[lab]
        picked += [g[i] for i in rng.choice(len(g), size=n, replace=False)]
    if len(picked) < k:  # rows without one of the labels fill what is left
        rest = [r for r in train_rows if r not in picked]
        picked += [rest[i] for i in rng.permutation(len(rest))[:k - len(picked)]]
    return [picked[i] for i in rng.permutation(len(picked))]


def _allocate(k: int, sizes: dict[str, int]) -> dict[str, int]:
    """Examples per label: one each (the most frequent first when k is smaller), then the
    rest by largest remainder of the labels' shares, never more than a label has.

    >>> _allocate(6, {"neg": 400, "neu": 2000, "pos": 900})
    {'neg': 1, 'neu': 3, 'pos': 2}
    >>> _allocate(2, {"a": 1, "b": 5, "c": 3})
    {'a': 0, 'b': 1, 'c': 1}
    """
    order = sorted(sizes, key=lambda lab: -sizes[lab])
    quota = {lab: 0 for lab in sizes}
    for lab in order[:k]:
        quota[lab] = 1
    left = k - sum(quota.values())
    total = sum(sizes.values())
    while left > 0:
        room = [lab for lab in order if quota[lab] < sizes[lab]]
        if not room:
            break
        lab = max(room, key=lambda x: sizes[x] * k / total - quota[x])
        quota[lab] += 1
        left -= 1
    return quota
