"""Resolving label conflicts (same input, different labels) on constructed cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import datasets
from core.cli import main
from core.cli.data import report_text
from tests.datasets.conftest import snapshot

# (input, label); the groups are planted so the three choices keep different rows
ROWS = [
    ("q1", "A"), ("Q1 ", "B"), ("q1", "A"),  # 0-2: A twice, B once (case and space ignored)
    ("q2", "A"), ("q2", "B"),  # 3-4: a tie
    ("q3", "B"), ("q3", "A"), ("q3", "A"),  # 5-7: the first label is the minority
    ("q4", "A"), ("q4", "A"),  # 8-9: agree, no conflict
    ("q5", "B"), ("q5", ""),  # 10-11: an empty label is not a conflict
    ("q6", "A"), ("q7", "B"),  # 12-13
    ("q8", "B"), ("q8", "A"), ("q8", "A"), ("q8", "A"),  # 14-17: first B, majority A
]
DROPS = {"majority": [1, 3, 4, 5, 14],
         "drop": [0, 1, 2, 3, 4, 5, 6, 7, 14, 15, 16, 17],
         "first": [1, 4, 6, 7, 15, 16, 17]}


def _csv(rows) -> str:
    return "text,label,row\n" + "".join(f"{t},{lab},{i}\n" for i, (t, lab) in enumerate(rows))


def _onehot(texts: list[str]) -> np.ndarray:
    return np.eye(len(texts), dtype=np.float32)


@pytest.fixture
def conflicted(ws, write):
    datasets.import_file(ws, write("c.csv", _csv(ROWS)), name="c", input_col="text",
                         target_col="label", task="classification")
    return "c"


@pytest.mark.parametrize("how", ["majority", "drop", "first"])
def test_each_choice_keeps_the_planted_rows(how, ws, conflicted, capsys):
    parent = datasets.get_version(ws, conflicted)
    before = datasets.load_frame(ws, parent).copy()
    assert main(["data", "fix", conflicted, "--resolve-conflicts", how, "--version", "1",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["created"] and out["parent_version"] == 1
    assert out["removed"] == {"conflicts": len(DROPS[how]), "total": len(DROPS[how])}
    kept = datasets.load_frame(ws, datasets.get_version(ws, conflicted, out["version"]))
    assert [int(r) for r in kept["row"]] == [i for i in range(len(ROWS)) if i not in DROPS[how]]
    assert f"by {how}" in out["note"]
    assert datasets.load_frame(ws, datasets.get_version(ws, conflicted, 1)).equals(before)
    # what is left has no conflict: the fix again is refused, one line, nothing written
    snap = snapshot(ws.settings.root)
    assert main(["data", "fix", conflicted, "--resolve-conflicts", how]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no conflicting labels" in err and "nothing to do" in err
    assert snapshot(ws.settings.root) == snap


def test_report_says_how_many_rows_each_choice_keeps(ws, conflicted):
    v = datasets.get_version(ws, conflicted)
    rep = datasets.quality_report(datasets.load_frame(ws, v), v.mapping, embed_fn=_onehot)
    res = rep["conflict_resolution"]
    assert (res["inputs"], res["rows"], res["ties"]) == (4, 12, 1)
    assert res["keeps"] == {how: len(ROWS) - len(drop) for how, drop in DROPS.items()}
    assert not res["test_given"] and res["with_test"] is None  # no split, so no given test file
    assert res["per_split"]["before"] == {"all": {"(empty)": 1, "A": 11, "B": 6}}
    finding = next(f for f in rep["findings"] if f["check"] == "conflicting_labels")
    assert finding["count"] == 4 and finding["fix"] == "resolve_conflicts"
    rep.update(dataset="c", version=1)
    text = report_text(rep)
    assert "majority 13, drop 6, first 11" in text and "--resolve-conflicts" in text
    # the fix drops exactly what the report counted
    for how, drop in DROPS.items():
        res = datasets.fix(ws, conflicted, resolve_conflicts=how, number=1)
        assert res.version.rows == rep["conflict_resolution"]["keeps"][how] == len(ROWS) - len(drop)


def test_conflicts_are_resolved_within_a_split_only(ws, write):
    """A given test file is never rewritten by a conflict in train; inside each split it is."""
    train = [("same text", "A"), ("same text", "B"), ("same text", "A"), ("other", "B")]
    test = [("same text", "B"), ("more", "A")]
    datasets.import_file(ws, write("train.csv", _csv(train)), name="g", input_col="text",
                         target_col="label", test_file=write("test.csv", _csv(test)))
    res = datasets.fix(ws, "g", resolve_conflicts="drop")
    kept = datasets.load_frame(ws, res.version)
    assert list(kept["text"]) == ["other", "same text", "more"]  # train group gone, test kept
    _, test_part = datasets.rows_for(ws, "g", "test")
    assert list(test_part["label"]) == ["B", "A"] and res.version.given == ("train", "test")
    with pytest.raises(datasets.DatasetError, match="no conflicting labels"):
        datasets.fix(ws, "g", resolve_conflicts="majority")


def test_unknown_choice_is_refused(ws, conflicted):
    with pytest.raises(datasets.DatasetError, match="use majority, drop or first"):
        datasets.fix(ws, conflicted, resolve_conflicts="vote")
