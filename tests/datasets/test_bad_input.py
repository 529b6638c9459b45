"""Every bad input of issue 3 gives one line naming the problem and the fix, and changes nothing."""

from __future__ import annotations

import pytest

from core.cli import main
from tests.datasets.conftest import snapshot

GOOD = "text,label\nhello there,a\nbye now,b\n"

# (case id, file name, file content, extra CLI args, words the message must contain)
CASES = [
    ("empty file", "empty.csv", b"", [], ["empty", "header row"]),
    ("blank file", "blank.csv", "\n\n  \n", [], ["no data", "header row"]),
    ("header only", "header.csv", "text,label\n", [], ["header but no data rows", "add"]),
    ("binary file", "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), [],
     ["binary", "PNG", "export the data as CSV"]),
    ("binary nul bytes", "blob.csv", b"text,label\n\x00\x01\x02\x03\xff\xfe" * 4, [],
     ["binary", "NUL"]),
    ("wrong extension", "data.docx", GOOD, [], ["unsupported file type '.docx'", ".csv"]),
    ("no extension", "data", GOOD, [], ["unsupported file type", ".csv"]),
    ("undecodable text", "latin.csv", b"text,label\nhello \x81\x8d world,a\nbye,b\n", [],
     ["not UTF-8, UTF-16 or Latin-1", "save it as UTF-8"]),
    ("bad utf-16", "u16.csv", b"\xff\xfe" + "text,label\n".encode("utf-16-le") + b"\x00\xd8", [],
     ["not valid UTF-16", "UTF-8"]),
    ("ragged rows: too many", "ragged.csv", "text,label\nhello,a\nhi, there,b\n", [],
     ["line 3 has 3 fields but the header has 2", "quote"]),
    ("ragged rows: too few", "ragged2.csv", "text,label,extra\nhello,a,x\nhi\n", [],
     ["has 1 fields but the header has 3", "quote"]),
    ("duplicate column names", "dup.csv", "text,label,text\nhello,a,b\nbye,b,c\n", [],
     ["'text' appears more than once", "rename"]),
    ("duplicate jsonl keys", "dup.jsonl", '{"text": "a", "label": "x", "text": "b"}\n', [],
     ["'text' twice", "rename"]),
    ("invalid jsonl", "bad.jsonl", '{"text": "a", "label": "x"}\n{"text": oops}\n', [],
     ["line 2 is not valid JSON", "fix that line"]),
    ("mapped input column missing", "ok.csv", GOOD, ["--input-col", "txt"],
     ["input column 'txt' does not exist", "'text', 'label'"]),
    ("mapped target column missing", "ok.csv", GOOD, ["--target-col", "category"],
     ["target column 'category' does not exist", "choose one of"]),
    ("mapped context column missing", "ok.csv", GOOD, ["--context-col", "ctx"],
     ["context column 'ctx' does not exist"]),
    ("all targets empty", "notarget.csv", "text,label\nhello,\nbye, \n", [],
     ["target column 'label' is empty in every row", "map the column"]),
    ("single class", "oneclass.csv", "text,label\nhello,a\nbye,a\nhi,a\n",
     ["--task", "classification"], ["only 'a'", "at least two classes"]),
    ("bad dataset name", "ok.csv", GOOD, ["--name", "../evil"], ["not a usable dataset name"]),
    ("missing file", None, None, [], ["does not exist", "check the path"]),
]


def _args(path, extra: list[str]) -> list[str]:
    base = {"--name": "d", "--input-col": "text", "--target-col": "label"}
    it = iter(extra)
    opts = dict(zip(it, it, strict=True))
    base.update(opts)
    return ["data", "import", str(path)] + [x for kv in base.items() for x in kv]


@pytest.mark.parametrize("case,name,content,extra,words", CASES, ids=[c[0] for c in CASES])
def test_bad_import_one_line_and_no_change(case, name, content, extra, words, ws, write,
                                           tmp_path, capsys):
    path = write(name, content) if name else tmp_path / "files-missing.csv"
    before = snapshot(ws.settings.root)
    rc = main(_args(path, extra))
    err = capsys.readouterr().err
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ladder: error: ")
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert snapshot(ws.settings.root) == before


def test_file_over_the_size_limit(ws, write, monkeypatch, capsys):
    monkeypatch.setenv("LADDER_MAX_UPLOAD_MB", "1")
    row = "some reasonably long ticket text that repeats,a\n"
    path = write("big.csv", "text,label\n" + row * (1024 * 1024 // len(row) + 10))
    before = snapshot(ws.settings.root)
    assert main(_args(path, [])) == 1
    err = capsys.readouterr().err.strip()
    assert "over the 1 MB upload limit" in err and "LADDER_MAX_UPLOAD_MB" in err
    assert len(err.splitlines()) == 1
    assert snapshot(ws.settings.root) == before


def test_file_over_the_row_limit(ws, write, monkeypatch, capsys):
    monkeypatch.setenv("LADDER_MAX_ROWS", "5")
    path = write("rows.csv", "text,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(6)))
    before = snapshot(ws.settings.root)
    assert main(_args(path, [])) == 1
    err = capsys.readouterr().err.strip()
    assert "more than 5 rows" in err and "LADDER_MAX_ROWS" in err
    assert snapshot(ws.settings.root) == before


def test_bad_excel_files(ws, write, capsys):
    before = snapshot(ws.settings.root)
    assert main(_args(write("fake.xlsx", GOOD), [])) == 1
    assert "not an Excel workbook" in capsys.readouterr().err
    assert main(_args(write("broken.xlsx", b"PK\x03\x04garbage" * 10), [])) == 1
    assert "could not be opened as an Excel workbook" in capsys.readouterr().err
    assert snapshot(ws.settings.root) == before


@pytest.mark.parametrize("argv,words", [
    (["data", "split", "d", "--val", "0.6", "--test", "0.5"], ["leave no rows for training"]),
    (["data", "split", "d", "--val", "-0.1"], ["not a fraction"]),
    (["data", "split", "nope"], ["no dataset 'nope'", "known: d"]),
    (["data", "fix", "d"], ["choose at least one fix", "--resolve-conflicts"]),
    (["data", "fix", "d", "--drop-leakage"], ["has no split", "ladder data split d"]),
    (["data", "export", "d", "--out", "OUT/x.xls"], ["cannot tell the export format"]),
    (["data", "export", "d", "--split", "train", "--out", "OUT/x.csv"], ["has no split"]),
    (["data", "report", "d", "--version", "7"], ["has no version 7", "versions are 1"]),
    (["data", "report", "d", "--threshold", "1.5"], ["not a cosine similarity"]),
    (["data", "delete", "nope"], ["no dataset 'nope'"]),
])
def test_bad_commands_change_nothing(argv, words, ws, write, tmp_path, capsys):
    assert main(_args(write("ok.csv", GOOD), [])) == 0
    capsys.readouterr()
    before = snapshot(ws.settings.root)
    argv = [a.replace("OUT", str(tmp_path)) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for w in words:
        assert w in err
    assert snapshot(ws.settings.root) == before


SPLIT_COL = "text,label,split\nhello there,a,train\nbye now,b,train\nhi,a,holdout\nyo,b,\n"
TRAIN_ONLY = "text,label,split\nhello there,a,test\nbye now,b,dev\n"
# (case id, {file: content}, the train file, extra CLI args, words the message must contain)
SPLIT_CASES = [
    ("test file lacks a column", {"ok.csv": GOOD, "test.csv": "text\nhi\n"}, "ok.csv",
     ["--test-file", "FILE:test.csv"],
     ["the test file test.csv lacks the column 'label' of ok.csv", "same columns"]),
    ("validation file has other columns", {"ok.csv": GOOD, "dev.csv": "text,lbl,x\nhi,a,1\n"},
     "ok.csv", ["--validation-file", "FILE:dev.csv"],
     ["lacks the column 'label'", "has the columns 'lbl', 'x' that ok.csv has not"]),
    ("test file identical to train", {"ok.csv": GOOD, "same.csv": GOOD}, "ok.csv",
     ["--test-file", "FILE:same.csv"], ["exactly the same rows as the train file",
                                        "held-out test file"]),
    ("test file is train reordered", {"ok.csv": GOOD,
                                      "re.csv": "label,text\nb,bye now\na,hello there\n"},
     "ok.csv", ["--test-file", "FILE:re.csv"], ["exactly the same rows"]),
    ("unreadable test file", {"ok.csv": GOOD, "t.csv": b"\x89PNG\r\n\x1a\n" + bytes(32)},
     "ok.csv", ["--test-file", "FILE:t.csv"], ["t.csv is a binary file"]),
    ("split column with unknown values", {"s.csv": SPLIT_COL}, "s.csv", ["--split-col", "split"],
     ["values that name no split: '' (empty), 'holdout'", "dev, val, valid"]),
    ("split column missing", {"ok.csv": GOOD}, "ok.csv", ["--split-col", "fold"],
     ["split column 'fold' does not exist", "'text', 'label'"]),
    ("split column names no train rows", {"s.csv": TRAIN_ONLY}, "s.csv", ["--split-col", "split"],
     ["names no train rows"]),
    ("split column is the target", {"ok.csv": GOOD}, "ok.csv", ["--split-col", "label"],
     ["is also the input, target or context column"]),
    ("split column and test file", {"s.csv": SPLIT_COL, "t.csv": GOOD}, "s.csv",
     ["--split-col", "split", "--test-file", "FILE:t.csv"], ["not both"]),
]


@pytest.mark.parametrize("case,files,main_file,extra,words", SPLIT_CASES,
                         ids=[c[0] for c in SPLIT_CASES])
def test_bad_split_import_one_line_and_no_change(case, files, main_file, extra, words, ws, write,
                                                 capsys):
    paths = {name: write(name, content) for name, content in files.items()}
    extra = [str(paths[a[5:]]) if a.startswith("FILE:") else a for a in extra]
    before = snapshot(ws.settings.root)
    rc = main(_args(paths[main_file], extra))
    err = capsys.readouterr().err
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ladder: error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert snapshot(ws.settings.root) == before


def test_conflict_fix_without_conflicts_changes_nothing(ws, write, capsys):
    assert main(_args(write("ok.csv", GOOD), [])) == 0
    capsys.readouterr()
    before = snapshot(ws.settings.root)
    assert main(["data", "fix", "d", "--resolve-conflicts", "majority"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "has no conflicting labels" in err and "nothing to do, no new version" in err
    assert snapshot(ws.settings.root) == before
    with pytest.raises(SystemExit) as exit_:  # argparse refuses an unknown choice
        main(["data", "fix", "d", "--resolve-conflicts", "vote"])
    assert exit_.value.code == 2 and "invalid choice: 'vote'" in capsys.readouterr().err
