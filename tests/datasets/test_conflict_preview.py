"""The conflict-fix preview (rows kept per split and label by each choice) and the given
test file, which a fix leaves as given unless told otherwise (issue 18, item 6).

A constructed 3-class set with given train, validation and test files; its conflicts are
planted so ties, majorities and the given test file each change what a choice keeps.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import datasets
from core.cli import main
from core.cli.data import report_text
from core.datasets.conflicts import preview_notes, preview_table
from tests.datasets.conftest import snapshot

TRAIN = [("t1", "neg"), ("t1", "pos"),  # a tie
         ("t2", "neg"), ("T2 ", "neu"),  # a tie (case and spaces ignored)
         ("m1", "neg"), ("m1", "neg"), ("m1", "pos"),  # majority neg
         ("a", "neg"), ("b", "pos"), ("c", "neu"), ("d", "neg")]
VALIDATION = [("v1", "pos"), ("v1", "neu"),  # a tie
              ("e", "neg"), ("f", "pos")]
TEST = [("x1", "pos"), ("x1", "neg"),  # a tie
        ("x2", "neg"), ("x2", "neg"), ("x2", "pos"),  # majority neg
        ("g", "neu"), ("h", "pos")]
N = len(TRAIN) + len(VALIDATION) + len(TEST)  # 22

# rows per split and label: before, and kept by each choice, with the given test file as given
BEFORE = {"train": {"neg": 6, "neu": 2, "pos": 3}, "validation": {"neg": 1, "neu": 1, "pos": 2},
          "test": {"neg": 3, "neu": 1, "pos": 3}}
KEPT = {"majority": {"train": {"neg": 4, "neu": 1, "pos": 1},
                     "validation": {"neg": 1, "neu": 0, "pos": 1}},
        "drop": {"train": {"neg": 2, "neu": 1, "pos": 1},
                 "validation": {"neg": 1, "neu": 0, "pos": 1}},
        "first": {"train": {"neg": 6, "neu": 1, "pos": 1},
                  "validation": {"neg": 1, "neu": 0, "pos": 2}}}
# the test split when the fix may reach into it (--include-test)
TEST_INCLUDED = {"majority": {"neg": 2, "neu": 1, "pos": 1},
                 "drop": {"neg": 0, "neu": 1, "pos": 1},
                 "first": {"neg": 2, "neu": 1, "pos": 2}}


def _csv(rows) -> str:
    return "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows)


def _onehot(texts: list[str]) -> np.ndarray:
    return np.eye(len(texts), dtype=np.float32)


def _expected(how: str, include_test: bool) -> dict:
    return {**KEPT[how], "test": TEST_INCLUDED[how] if include_test else BEFORE["test"]}


@pytest.fixture
def given(ws, write):
    datasets.import_file(ws, write("train.csv", _csv(TRAIN)), name="g", input_col="text",
                         target_col="label", task="classification",
                         validation_file=write("dev.csv", _csv(VALIDATION)),
                         test_file=write("test.csv", _csv(TEST)))
    return "g"


def _report(ws, name: str, number: int | None = None) -> dict:
    v = datasets.get_version(ws, name, number)
    rep = datasets.quality_report(datasets.load_frame(ws, v), v.mapping,
                                  datasets.get_split(ws, v), embed_fn=_onehot)
    rep.update(dataset=name, version=v.number, hash=v.hash)
    return rep


def _split_counts(ws, name: str, number: int | None = None) -> dict:
    sp = datasets.get_split(ws, datasets.get_version(ws, name, number))
    return sp.counts


def _nonzero(per_split: dict) -> dict:
    """Preview counts as a saved split counts them (labels with no rows left out)."""
    return {part: {lab: n for lab, n in c.items() if n} for part, c in per_split.items()}


def test_preview_counts_rows_per_split_and_label_for_each_choice(ws, given):
    res = _report(ws, given)["conflict_resolution"]
    assert (res["inputs"], res["rows"], res["ties"]) == (6, 14, 4)
    assert res["test_given"] and res["test_left"] == {"inputs": 2, "rows": 5}
    assert res["keeps"] == {"majority": 15, "drop": 13, "first": 18}
    assert res["with_test"]["keeps"] == {"majority": 12, "drop": 8, "first": 16}
    assert res["per_split"]["before"] == BEFORE
    for how in datasets.CONFLICT_CHOICES:
        assert res["per_split"][how] == _expected(how, False), how
        assert res["with_test"]["per_split"][how] == _expected(how, True), how
    # the table the page shows: one row per split and label, then the split's total
    table = preview_table(res)
    assert list(table.columns) == ["split", "label", "before", "majority", "drop", "first"]
    neg = table[(table.split == "train") & (table.label == "neg")].iloc[0]
    assert (neg.before, neg.majority, neg["drop"], neg["first"]) == (6, 4, 2, 6)
    total = table[(table.split == "test") & (table.label == "all labels")].iloc[0]
    assert (total.before, total.majority, total["drop"], total["first"]) == (7, 7, 7, 7)
    total = preview_table(res, include_test=True).query("split == 'test' and label == "
                                                        "'all labels'").iloc[0]
    assert (total.before, total.majority, total["drop"], total["first"]) == (7, 4, 2, 5)
    notes = " ".join(preview_notes(res))
    assert "4 of 6 conflicting inputs are ties" in notes
    assert "2 conflicting inputs (5 rows) in the given test file are left as given" in notes
    assert "majority cuts 'pos' in train from 3 to 1 rows (-67%)" in notes
    assert "resolved too" in " ".join(preview_notes(res, include_test=True))


@pytest.mark.parametrize("how", ["majority", "drop", "first"])
def test_the_fix_keeps_what_the_preview_said_and_the_given_test_split(how, ws, given):
    res = _report(ws, given)["conflict_resolution"]
    _, test_before = datasets.rows_for(ws, given, "test")
    fixed = datasets.fix(ws, given, resolve_conflicts=how)
    assert fixed.created and fixed.version.rows == res["keeps"][how]
    _, test_after = datasets.rows_for(ws, given, "test")
    assert test_after.equals(test_before)  # the given test file, row for row
    assert _split_counts(ws, given) == _nonzero(res["per_split"][how])
    assert fixed.left_in_test["conflicting_inputs"] == 2
    assert "the given test file kept as given (2 conflicting inputs left in it)" in (
        fixed.version.note)
    assert fixed.version.given == ("train", "validation", "test")


def test_tie_only_sets_show_majority_keeps_what_drop_keeps(ws, write):
    rows = [("p", "a"), ("p", "b"), ("q", "b"), ("q", "c"), ("r", "a"), ("s", "b")]
    v = datasets.import_file(ws, write("t.csv", _csv(rows)), name="t", input_col="text",
                             target_col="label").version
    res = datasets.quality_report(datasets.load_frame(ws, v), v.mapping,
                                  embed_fn=_onehot)["conflict_resolution"]
    assert res["keeps"]["majority"] == res["keeps"]["drop"] == 2 and res["with_test"] is None
    assert res["per_split"]["majority"] == {"all": {"a": 1, "b": 1, "c": 0}}
    notes = preview_notes(res)
    assert "2 of 2 conflicting inputs are ties" in notes[0]
    assert "majority keeps exactly the rows drop keeps" in notes[0]
    assert any("majority cuts 'b' from 3 to 1 rows (-67%)" in n for n in notes)


def test_cli_include_test_and_json_keys(ws, given, capsys):
    assert main(["data", "fix", given, "--resolve-conflicts", "majority", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["include_test"] is False and out["version"] == 2
    assert out["left_in_given_test"] == {"conflicting_inputs": 2, "conflicts": 3}
    assert out["removed"] == {"conflicts": N - 15, "total": N - 15}
    # the text says what was left and how to include it
    assert main(["data", "fix", given, "--resolve-conflicts", "drop", "--version", "1"]) == 0
    text = capsys.readouterr().out
    assert "Left in the given test file, as given: 2 conflicting inputs, 5 rows" in text
    assert "--include-test" in text
    # --include-test reaches into the given test file, as the preview's with_test said
    assert main(["data", "fix", given, "--resolve-conflicts", "majority", "--include-test",
                 "--version", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["include_test"] is True and out["left_in_given_test"] == {}
    assert out["removed"] == {"conflicts": N - 12, "total": N - 12}
    assert "3 of them from the given test file (--include-test)" in out["note"]
    assert _split_counts(ws, given, out["version"]) == _nonzero(_expected("majority", True))
    assert out["given_splits"] == ["train", "validation", "test"]


def test_report_text_shows_the_preview(ws, given):
    text = report_text(_report(ws, given))
    assert "rows kept of 22: majority 15, drop 13, first 18" in text
    assert "rows kept with --include-test: majority 12, drop 8, first 16" in text
    assert "note: 4 of 6 conflicting inputs are ties" in text
    line = next(ln for ln in text.splitlines() if "train" in ln and " neg " in ln)
    assert line.split()[-4:] == ["6", "4", "2", "6"]


def test_include_test_without_a_given_test_file_is_refused(ws, write, capsys):
    rows = [("p", "a"), ("p", "b"), ("p", "a"), ("r", "a"), ("s", "b")]
    datasets.import_file(ws, write("t.csv", _csv(rows)), name="t", input_col="text",
                         target_col="label")
    datasets.split(ws, "t", 0.2, 0.2)  # a test split cut here is not a given file
    before = snapshot(ws.settings.root)
    assert main(["data", "fix", "t", "--resolve-conflicts", "majority", "--include-test"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "has none" in err and "leave --include-test out" in err
    assert snapshot(ws.settings.root) == before
    assert main(["data", "fix", "t", "--include-test"]) == 1  # no fix chosen at all
    assert "choose at least one fix" in capsys.readouterr().err
    assert snapshot(ws.settings.root) == before


def test_conflicts_only_in_the_given_test_file_are_refused_by_default(ws, write, capsys):
    train = [("a", "x"), ("b", "y"), ("c", "x")]
    test = [("q", "x"), ("q", "y"), ("r", "y")]
    datasets.import_file(ws, write("train.csv", _csv(train)), name="o", input_col="text",
                         target_col="label", test_file=write("test.csv", _csv(test)))
    before = snapshot(ws.settings.root)
    assert main(["data", "fix", "o", "--resolve-conflicts", "drop"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "only in its given test file (1 inputs, 2 rows)" in err and "--include-test" in err
    assert snapshot(ws.settings.root) == before
    assert main(["data", "fix", "o", "--resolve-conflicts", "drop", "--include-test"]) == 0
    _, test_part = datasets.rows_for(ws, "o", "test")
    assert list(test_part["text"]) == ["r"]


def test_other_fixes_leave_the_given_test_file_too(ws, write, capsys):
    train = [("a", "x"), ("b", "y"), ("c", "x"), ("c", "x")]
    test = [("q", "x"), ("q", "x"), ("r", "y"), ("", "y")]
    datasets.import_file(ws, write("train.csv", _csv(train)), name="d", input_col="text",
                         target_col="label", test_file=write("test.csv", _csv(test)))
    res = datasets.fix(ws, "d", drop_duplicates=True, drop_empty=True)
    assert res.removed == {"empty": 0, "duplicates": 1, "total": 1}
    assert res.left_in_test == {"empty": 1, "duplicates": 1}
    _, test_part = datasets.rows_for(ws, "d", "test")
    assert len(test_part) == 4
    assert "kept as given (1 empty rows, 1 duplicate rows left in it)" in res.version.note
    res = datasets.fix(ws, "d", drop_duplicates=True, drop_empty=True, include_test=True)
    _, test_part = datasets.rows_for(ws, "d", "test")
    assert list(test_part["text"]) == ["q", "r"] and res.left_in_test == {}


def test_page_shows_the_preview_and_keeps_the_given_test_file(ws, given):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from core.datasets import versions as store

    store.save_report(ws, datasets.get_version(ws, given), _report(ws, given))  # as Run would
    page = str(Path(__file__).resolve().parents[2] / "views" / "data.py")
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception
    table = _preview(at)
    row = table[(table.split == "train") & (table.label == "neg")].iloc[0]
    assert (row.before, row.majority, row["drop"], row["first"]) == (6, 4, 2, 6)
    test_total = table[(table.split == "test") & (table.label == "all labels")].iloc[0]
    assert test_total.majority == 7  # the given test file is kept by default
    captions = " ".join(c.value for c in at.caption)
    assert "4 of 6 conflicting inputs are ties" in captions and "left as given" in captions
    box = at.checkbox(key="fix_include_test")
    assert box.value is False
    assert "majority keeps 15 of 22 rows." in captions
    # ticking the box shows what including the test file would do
    box.check().run()
    table = _preview(at)
    test_total = table[(table.split == "test") & (table.label == "all labels")].iloc[0]
    assert (test_total.majority, test_total["drop"], test_total["first"]) == (4, 2, 5)
    assert "majority keeps 12 of 22 rows." in [c.value for c in at.caption]
    box.uncheck().run()
    _, test_before = datasets.rows_for(ws, given, "test")
    at.button(key="fix_conflicts").click().run()
    assert not at.exception
    assert any("Saved version 2" in s.value and "kept as given" in s.value for s in at.success)
    _, test_after = datasets.rows_for(ws, given, "test")
    assert test_after.equals(test_before)


def test_page_offers_no_checkbox_without_a_given_test_file(ws, write):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from core.datasets import versions as store

    rows = [("p", "a"), ("p", "b"), ("p", "a"), ("r", "a"), ("s", "b")]
    v = datasets.import_file(ws, write("t.csv", _csv(rows)), name="t", input_col="text",
                             target_col="label").version
    rep = datasets.quality_report(datasets.load_frame(ws, v), v.mapping, embed_fn=_onehot)
    rep.update(dataset="t", version=1, hash=v.hash)
    store.save_report(ws, v, rep)
    page = str(Path(__file__).resolve().parents[2] / "views" / "data.py")
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception and not [c for c in at.checkbox if c.key == "fix_include_test"]
    table = _preview(at)
    assert list(table.split.unique()) == ["all"] and len(table) == 3  # a, b, all labels


def _preview(at):
    """The conflict-preview table on the page (the one with a "majority" column)."""
    return next(d.value for d in at.dataframe if "majority" in d.value.columns)
