"""Loaders: each supported type read into units; bad files refused with a clear message."""

from __future__ import annotations

import io

import pytest

from core.retrieval import RetrievalError, load_bytes, load_path


def pdf_bytes(text: str | None) -> bytes:
    """A one-page PDF written with pypdf; `text=None` gives a page with no text layer."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    page = w.add_blank_page(300, 200)
    if text is not None:
        font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                 NameObject("/Subtype"): NameObject("/Type1"),
                                 NameObject("/BaseFont"): NameObject("/Helvetica")})
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
        page[NameObject("/Contents")] = w._add_object(stream)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_each_type_is_read():
    assert load_bytes("a.txt", b"plain text").units == ["plain text"]
    assert load_bytes("a.md", b"# T\r\n\r\nbody").units == ["# T\n\nbody"]
    csv = load_bytes("faq.csv", b"question,answer\nHow to pay?,By card\nRefund?,\n")
    assert csv.units == ["question: How to pay?\nanswer: By card", "question: Refund?"]
    assert csv.unit_label == "row"
    html = load_bytes("p.html", b"<html><head><title>x</title><style>p{}</style></head><body>"
                               b"<h1>Help</h1><p>Reset&nbsp;your <b>password</b>.</p></body>")
    assert html.units == ["# Help\n\nReset your password."]
    pdf = load_bytes("guide.pdf", pdf_bytes("Refunds take five days"))
    assert pdf.unit_label == "page" and "Refunds take five days" in pdf.units[0]


@pytest.mark.parametrize("name,data,needle", [
    ("notes.docx", b"PK\x03\x04...", "not supported"),
    ("empty.md", b"", r"empty \(0 bytes\)"),
    ("blank.txt", b"  \n\n ", "no text"),
    ("broken.pdf", b"%PDF-1.4\nthis is not a pdf body", "not a readable PDF"),
    ("fake.pdf", b"hello", "not a PDF"),
    ("scan.pdf", None, "no text layer"),
    ("bin.txt", b"\x00\x01\x02binary", "binary"),
])
def test_bad_files_say_what_is_wrong(name, data, needle):
    if data is None:
        data = pdf_bytes(None)
    with pytest.raises(RetrievalError, match=needle):
        load_bytes(name, data)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(RetrievalError, match="does not exist"):
        load_path(tmp_path / "nope.md")
    with pytest.raises(RetrievalError, match="is a folder"):
        load_path(tmp_path)
