"""Reading CSV/TSV/JSONL/Excel: encodings, delimiters, quoting, every cell a string."""

from __future__ import annotations

import io

import pytest

from core.datasets import DatasetError, infer_task, read_table
from core.datasets.readers import decode_text, sniff_delimiter

ROWS = [("Hello, world", "a"), ('She said "hi"\nthen left', "b"), ("Café – naïve", "c")]


def _csv(delim: str = ",") -> str:
    out = io.StringIO()
    import csv

    w = csv.writer(out, delimiter=delim, lineterminator="\r\n")
    w.writerow(["text", "label"])
    w.writerows(ROWS)
    return out.getvalue()


@pytest.mark.parametrize("encoding,expect", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"),
    ("utf-16-le", "utf-16-le"), ("cp1252", "windows-1252"),
])
def test_encodings_detected(encoding, expect):
    t = read_table(_csv().encode(encoding), "x.csv")
    assert t.encoding == expect
    assert t.columns == ["text", "label"]  # no BOM left in the first column name
    assert [tuple(r) for r in t.frame.itertuples(index=False)] == ROWS


def test_latin1_without_cp1252_chars():
    data = "text,label\nna\u00efve caf\u00e9,a\nplain,b\n".encode("latin-1")
    text, enc = decode_text(data)
    assert enc in ("windows-1252", "latin-1") and "naïve café" in text


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiter_sniffed(delim):
    t = read_table(_csv(delim).encode(), "x.csv")
    assert t.delimiter == delim
    assert t.frame["text"].tolist() == [r[0] for r in ROWS]


def test_sniff_ignores_delimiters_inside_quotes():
    assert sniff_delimiter('"a,b,c";d\n1;2') == ";"
    assert sniff_delimiter("single\nvalue") == ","


def test_tsv_and_blank_lines_and_missing_cells():
    t = read_table(b"text\tlabel\tscore\nhi\ta\t\n\nyo\tb\t3\n", "x.tsv")
    assert t.frame.to_dict("records") == [{"text": "hi", "label": "a", "score": ""},
                                          {"text": "yo", "label": "b", "score": "3"}]


def test_numbers_stay_as_written():
    t = read_table(b"text,score\nx,007\ny,1.50\n", "x.csv")
    assert t.frame["score"].tolist() == ["007", "1.50"]


def test_jsonl_and_json_array():
    jl = '{"text": "a", "label": 1, "meta": {"k": 2}}\n\n{"text": "b", "extra": null}\n'
    t = read_table(jl.encode(), "x.jsonl")
    assert t.columns == ["text", "label", "meta", "extra"]
    assert t.frame.to_dict("records") == [
        {"text": "a", "label": "1", "meta": '{"k": 2}', "extra": ""},
        {"text": "b", "label": "", "meta": "", "extra": ""}]
    arr = read_table(b'[{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]', "x.json")
    assert arr.frame["label"].tolist() == ["x", "y"]
    with pytest.raises(DatasetError, match="not a JSON object"):
        read_table(b'["just a string"]\n', "x.jsonl")


def test_excel_round_trip(tmp_path):
    import openpyxl  # a dependency of the project (Excel import)
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["text", "label", "score"])
    sh.append(["hello", "a", 5])
    sh.append(["bye", "b", 2.5])
    sh.append([None, None, None])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    t = read_table(path)
    assert t.fmt == "xlsx"
    assert t.frame.to_dict("records") == [{"text": "hello", "label": "a", "score": "5"},
                                          {"text": "bye", "label": "b", "score": "2.5"}]


def test_quoted_newlines_and_crlf_survive():
    t = read_table(_csv().encode(), "x.csv")
    assert t.frame["text"][1] == 'She said "hi"\nthen left'


@pytest.mark.parametrize("values,task", [
    (["pos", "neg", "pos", "neg"], "classification"),
    (["1", "2", "5", "4", "3"], "scale"),
    ([f"a long answer number {i}" for i in range(30)], "free_text"),
])
def test_infer_task(values, task):
    import pandas as pd

    assert infer_task(pd.Series(values)) == task
