"""Splits the user brings: a test (and validation) file or a split column, kept exactly."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from core import datasets
from core.cli import main
from core.datasets.versions import GivenSplit, content_hash
from tests.datasets.conftest import snapshot

TRAIN = "text,label,note\n" + "".join(f"train question {i} about {'ab'[i % 2]},{'ab'[i % 2]},n{i}\n"
                                      for i in range(40))
TEST = "label,text,note\n" + "".join(f"{'ab'[i % 2]},held out question {i},t{i}\n"
                                     for i in range(9))
VALID = "text,label,note\n" + "".join(f"dev question {i},{'ab'[i % 2]},v{i}\n" for i in range(5))


def rows_hash(frame, cols=("text", "label", "note")) -> str:
    """A hash of the rows' cells, in order: the identity of a split's content."""
    return hashlib.sha256(json.dumps(frame[list(cols)].astype(str).values.tolist()).encode()
                          ).hexdigest()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_test_file_is_the_test_split_exactly(ws, write, capsys):
    train, test = write("train.csv", TRAIN), write("test.csv", TEST)
    code, out, err = run(capsys, "data", "import", str(train), "--name", "d", "--input-col", "text",
                         "--target-col", "label", "--test-file", str(test), "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["created"] and rec["rows"] == 49 and rec["given_splits"] == ["train", "test"]
    assert rec["split"]["given"] == ["train", "test"] and rec["split"]["sizes"]["test"] == 9
    assert rec["split"]["sizes"]["validation"] > 0  # cut from the train rows at once
    _, part = datasets.rows_for(ws, "d", "test")
    file_rows = datasets.read(ws, test).frame
    assert len(part) == len(file_rows) == 9
    assert rows_hash(part) == rows_hash(file_rows)
    # re-cutting validation (and asking for a test fraction) never moves a given test row
    for seed in range(3):
        _, sp = datasets.split(ws, "d", 0.3, 0.5, seed)
        assert sp.val_ratio == 0.3 and sp.test_ratio == 0.0 and sp.given == ("train", "test")
        _, again = datasets.rows_for(ws, "d", "test")
        assert rows_hash(again) == rows_hash(file_rows)
        _, train_part = datasets.rows_for(ws, "d", "train")
        assert not train_part["text"].str.startswith("held out").any()
    code, out, _ = run(capsys, "data", "split", "d", "--val", "0.2")
    assert code == 0 and "test given by the import, kept as is" in out
    # the same files again: the same version, nothing written
    before = snapshot(ws.settings.root)
    code, out, _ = run(capsys, "data", "import", str(train), "--name", "d", "--input-col", "text",
                       "--target-col", "label", "--test-file", str(test))
    assert code == 0 and "No change" in out
    assert snapshot(ws.settings.root) == before


def test_validation_and_test_files_leave_nothing_to_cut(ws, write):
    res = datasets.import_file(ws, write("train.csv", TRAIN), name="d", input_col="text",
                               target_col="label", test_file=write("test.csv", TEST),
                               validation_file=write("dev.csv", VALID))
    assert res.version.given == ("train", "validation", "test")
    sp = datasets.get_split(ws, res.version)
    assert sp.sizes() == {"train": 40, "validation": 5, "test": 9}
    _, again = datasets.split(ws, "d", 0.4, 0.4, seed=7)
    assert np.array_equal(again.assignment, sp.assignment)
    _, dev = datasets.rows_for(ws, "d", "validation")
    assert list(dev["note"]) == [f"v{i}" for i in range(5)]


def test_split_column_names_each_rows_split(ws, write):
    body = "text,label,split\n" + "".join(
        f"row {i} says {'ab'[i % 2]},{'ab'[i % 2]},{s}\n"
        for i, s in enumerate(["train"] * 20 + ["Dev", " val", "VALID", "validation"]
                              + ["test"] * 6))
    res = datasets.import_file(ws, write("all.csv", body), name="d", input_col="text",
                               target_col="label", split_col="split")
    sp = datasets.get_split(ws, res.version)
    assert res.version.given == ("train", "validation", "test")
    assert list(sp.assignment) == [0] * 20 + [1] * 4 + [2] * 6
    # only train and test named: validation is cut from the train rows
    body2 = body.replace(",Dev\n", ",train\n").replace(", val\n", ",train\n")
    body2 = body2.replace(",VALID\n", ",train\n").replace(",validation\n", ",train\n")
    res2 = datasets.import_file(ws, write("tt.csv", body2), name="e", input_col="text",
                                target_col="label", split_col="split")
    sp2 = datasets.get_split(ws, res2.version)
    assert res2.version.given == ("train", "test")
    assert list(sp2.assignment[24:]) == [2] * 6 and (sp2.assignment[:24] == 1).sum() > 0
    assert not (sp2.assignment[:24] == 2).any()


def test_given_split_is_part_of_the_version_identity(ws, write):
    plain = datasets.import_file(ws, write("train.csv", TRAIN), name="d", input_col="text",
                                 target_col="label")
    frame = datasets.load_frame(ws, plain.version)
    assert content_hash(frame, plain.version.mapping) == plain.version.hash  # unchanged
    given = datasets.import_file(ws, write("t.csv", TRAIN), name="d", input_col="text",
                                 target_col="label", test_file=write("test.csv", TEST))
    assert given.created and given.version.hash != plain.version.hash
    other = GivenSplit(np.r_[np.zeros(39), [2] * 10].astype(np.uint8), ("train", "test"))
    both = datasets.load_frame(ws, given.version)
    assert content_hash(both, given.version.mapping, other) != given.version.hash
    # a split that moves a given row is refused by the store itself
    sp = datasets.get_split(ws, given.version)
    moved = sp.assignment.copy()
    moved[-1] = 0
    with pytest.raises(datasets.DatasetError, match="keeps the splits its import was given"):
        datasets.versions.save_split(ws, given.version, datasets.Split(
            0.1, 0, 0, True, moved, sp.counts))


def test_leakage_between_given_files_is_reported(ws, write):
    leaky = TEST + "b,train question 3 about b,t99\n"  # the same row as train row 4
    res = datasets.import_file(ws, write("train.csv", TRAIN), name="d", input_col="text",
                               target_col="label", test_file=write("test.csv", leaky))
    frame = datasets.load_frame(ws, res.version)
    sp = datasets.get_split(ws, res.version)
    rep = datasets.quality_report(frame, res.version.mapping, sp, embed_fn=_onehot)
    assert rep["leakage"]["train-test"] == 1
    assert rep["exact_duplicates"] == 0  # across splits a repeat is leakage, not a duplicate
    leak = [e for e in rep["examples"]["leakage"] if e["splits"] == "train-test"]
    assert leak[0]["row"] == 50 and leak[0]["match_row"] == 4
    # the duplicates fix keeps the given test split whole; the leakage fix drops the train copy
    assert datasets.fix(ws, "d", drop_duplicates=True).removed["total"] == 0
    fixed = datasets.fix(ws, "d", drop_leakage=True, embed_fn=_onehot)
    assert fixed.created and fixed.removed["leakage"] == 1
    _, test_part = datasets.rows_for(ws, "d", "test")
    assert len(test_part) == 10 and fixed.version.given == ("train", "test")


def _onehot(texts: list[str]) -> np.ndarray:
    """Distinct texts as orthogonal unit vectors: only exact repeats are similar."""
    return np.eye(len(texts), dtype=np.float32)
