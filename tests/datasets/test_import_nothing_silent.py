"""Import never changes data silently: workbooks with several sheets, bytes that are not
valid in the detected encoding, formula cells without values, very long fields."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import datasets
from core.cli import main

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "data.py")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def workbook(sheets: dict[str, list[list]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        sh = wb.create_sheet(title)
        for r in rows:
            sh.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


TRAIN = [["text", "label"], ["refund me", "billing"], ["app crashes", "bug"]]
OTHER = [["text", "label"], ["new login", "account"], ["add dark mode", "feature"],
         ["charge twice", "billing"]]


def imp(capsys, path, *extra):
    return run(capsys, "data", "import", str(path), "--name", "d", "--input-col", "text",
               "--target-col", "label", "--task", "classification", "--json", *extra)


def test_several_sheets_need_a_name(ws, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    path.write_bytes(workbook({"Train": TRAIN, "Other": OTHER, "Empty": []}))
    code, out, err = imp(capsys, path)
    assert code == 1 and "Traceback" not in err
    assert "data on 2 sheets ('Train', 'Other')" in err and "--sheet" in err
    assert datasets.list_datasets(ws) == []
    code, out, err = imp(capsys, path, "--sheet", "Nope")
    assert code == 1 and "no sheet 'Nope'" in err and "'Empty'" in err
    code, out, err = imp(capsys, path, "--sheet", "Other")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["rows"] == 3 and rec["notes"] == ["read the sheet 'Other' (of 3)"]
    # one sheet with data (the others empty) needs no name
    path.write_bytes(workbook({"Train": TRAIN, "Empty": []}))
    assert imp(capsys, path)[0] == 0


def test_sheet_is_only_for_workbooks(ws, tmp_path, capsys):
    path = tmp_path / "a.csv"
    path.write_text("text,label\na,x\nb,y\n")
    code, out, err = imp(capsys, path, "--sheet", "Sheet1")
    assert code == 1 and "--sheet is for Excel workbooks" in err


def test_formula_cells_without_saved_values_are_refused(ws, tmp_path, capsys):
    rows = [["text", "label", "code"], ["refund me", "=C2", "billing"],
            ["app crashes", "=C3", "bug"]]
    path = tmp_path / "formulas.xlsx"
    path.write_bytes(workbook({"Data": rows}))  # openpyxl saves formulas without values
    code, out, err = imp(capsys, path)
    assert code == 1 and "2 formula cells" in err and "B2, =C2" in err
    assert datasets.list_datasets(ws) == []


def test_mixed_utf8_is_refused_with_line_and_offset(ws, tmp_path, capsys):
    path = tmp_path / "mixed.csv"
    body = "text,label\ncafé au lait,drink\n".encode() + b"bad \xff byte,other\n"
    path.write_bytes(body)
    code, out, err = imp(capsys, path)
    assert code == 1 and "not valid UTF-8" in err
    offset = body.index(b"\xff")
    assert f"line 3, byte offset {offset}" in err and "--encoding" in err
    assert datasets.list_datasets(ws) == []
    code, out, err = imp(capsys, path, "--encoding", "utf-8")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["notes"][0].startswith("1 byte not valid UTF-8 replaced with U+FFFD")
    frame = datasets.load_frame(ws, datasets.get_version(ws, "d"))
    assert frame["text"].tolist() == ["café au lait", "bad \ufffd byte"]  # café intact
    code, out, err = imp(capsys, path, "--encoding", "klingon")
    assert code == 1 and "not an encoding" in err


def test_a_legacy_file_is_still_read_as_windows_1252(ws, tmp_path, capsys):
    path = tmp_path / "legacy.csv"
    path.write_bytes("text,label\ncafé crème,drink\nthé,drink2\n".encode("cp1252"))
    code, out, err = imp(capsys, path)
    assert code == 0, err
    assert json.loads(out)["encoding"] == "windows-1252"
    frame = datasets.load_frame(ws, datasets.get_version(ws, "d"))
    assert frame["text"].tolist() == ["café crème", "thé"]


def test_a_field_past_the_csv_modules_limit_imports(ws, tmp_path, capsys):
    path = tmp_path / "long.csv"
    long = "word " * 40_000  # 200,000 characters: over the csv module's 131,072
    path.write_text(f'text,label\n"{long}",a\nshort,b\n')
    code, out, err = imp(capsys, path)
    assert code == 0, err
    frame = datasets.load_frame(ws, datasets.get_version(ws, "d"))
    assert len(frame["text"][0]) == len(long)


def test_the_page_asks_for_the_sheet_and_the_encoding(ws):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    data = workbook({"Train": TRAIN, "Other": OTHER})
    at.file_uploader(key="data_upload").set_value(("book.xlsx", data, "application/xlsx"))
    at.run()
    assert not at.exception
    assert at.selectbox(key="data_table_sheet").options == ["Train", "Other"]
    at.selectbox(key="data_table_sheet").set_value("Other").run()
    assert any("3 rows" in c.value for c in at.caption)
    body = "text,label\ncafé,drink\n".encode() + b"bad \xff,other\n"
    at.file_uploader(key="data_upload").set_value(("mixed.csv", body, "text/csv"))
    at.run()
    assert any("not valid UTF-8" in e.value for e in at.error)
    at.selectbox(key="data_table_encoding").set_value("UTF-8").run()
    assert not at.error and any("2 rows" in c.value for c in at.caption)


@pytest.mark.parametrize("enc", ["utf-8", "latin-1"])
def test_decode_as_round_trips_valid_text(enc):
    from core.datasets.readers import decode_as

    text, codec, notes = decode_as("naïve".encode(enc), enc)
    assert text == "naïve" and notes == []
