"""Read knowledge-base files into text units: txt, Markdown, CSV rows, PDF pages, HTML.

A loaded document is a list of *units*: one for a text, Markdown or HTML file,
one per page of a PDF, one per row of a CSV. Chunk positions are reported
within units ("page 3", "row 41"), which is what an analyst can look up.

HTML is turned into Markdown-like text with the standard library's
`html.parser` (headings become ``#`` lines, block elements become paragraphs,
script and style are dropped), so the paragraph chunker treats it like
Markdown. PDF text comes from `pypdf`; a scanned PDF has no text layer and is
refused with a message rather than indexed as nothing.

Trade-off: no layout analysis (tables, columns, OCR). That keeps loading fast
and dependency-light; a scanned or table-heavy PDF should be converted to text
first, and the error message says so.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from core.retrieval.errors import RetrievalError

KINDS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".csv": "csv",
         ".pdf": "pdf", ".html": "html", ".htm": "html"}
UNIT_LABEL = {"pdf": "page", "csv": "row"}


@dataclass(frozen=True)
class LoadedDocument:
    name: str  # the file name; a document's identity inside a knowledge base
    kind: str  # txt, md, csv, pdf or html
    units: list[str]  # pages, rows, or the whole text as one unit
    sha256: str  # of the file's bytes
    size: int  # bytes

    @property
    def unit_label(self) -> str:
        return UNIT_LABEL.get(self.kind, "")


def supported() -> str:
    return ", ".join(sorted(KINDS))


def load_path(path: str | Path, max_bytes: int | None = None) -> LoadedDocument:
    """Read a file from disk; see `load_bytes`."""
    p = Path(path)
    if not p.exists():
        raise RetrievalError(f"{p} does not exist; check the path.")
    if p.is_dir():
        raise RetrievalError(f"{p} is a folder; give the files in it, e.g. {p}/*.md.")
    kind_of(p.name)  # refuse an unsupported type before reading a large file
    size = p.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise RetrievalError(f"{p.name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB "
                             "limit; split it or raise LADDER_MAX_UPLOAD_MB.")
    return load_bytes(p.name, p.read_bytes())


def kind_of(name: str) -> str:
    kind = KINDS.get(Path(name).suffix.lower())
    if kind is None:
        raise RetrievalError(f"{name}: the file type '{Path(name).suffix or '(none)'}' is not "
                             f"supported; use one of {supported()} (convert other formats to "
                             "text or PDF first).")
    return kind


def load_bytes(name: str, data: bytes) -> LoadedDocument:
    """Decode an uploaded or read file by its extension; every problem is a RetrievalError."""
    name = Path(name).name
    kind = kind_of(name)
    if not data:
        raise RetrievalError(f"{name} is empty (0 bytes); choose the file again, or re-export it.")
    if kind == "pdf":
        units = _pdf(name, data)
    elif kind == "csv":
        units = _csv(name, data)
    else:
        text = _text(name, data)
        units = [_html_text(text) if kind == "html" else text]
    units = [u.replace("\r\n", "\n").replace("\r", "\n") for u in units]
    if not any(u.strip() for u in units):
        raise RetrievalError(f"{name} contains no text to index; check that it is the right file.")
    return LoadedDocument(name, kind, units, hashlib.sha256(data).hexdigest(), len(data))


def _text(name: str, data: bytes) -> str:
    from core.datasets.errors import DatasetError
    from core.datasets.readers import decode_text

    try:
        return decode_text(data, name)[0]
    except DatasetError as e:
        raise RetrievalError(str(e).replace("CSV or JSONL", "text").replace(
            "as UTF-8 CSV", "as UTF-8 text")) from None


def _csv(name: str, data: bytes) -> list[str]:
    """One unit per row: 'column: value' lines, empty cells left out."""
    from core.datasets.errors import DatasetError
    from core.datasets.readers import read_table

    try:
        frame = read_table(data, name).frame
    except DatasetError as e:
        raise RetrievalError(str(e)) from None
    cols = list(frame.columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        rows.append("\n".join(f"{c}: {v}" for c, v in zip(cols, values, strict=True)
                              if str(v).strip()))
    if not rows:
        raise RetrievalError(f"{name} has a header but no rows; add rows or choose another file.")
    return rows


def _pdf(name: str, data: bytes) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise RetrievalError(f"{name} is not a PDF (it does not start with %PDF); re-export it "
                             "as PDF, or give it the right extension.")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise RetrievalError(f"{name} is password-protected; save an unprotected copy and "
                                 "add that.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except RetrievalError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as e:
        raise RetrievalError(f"{name} is not a readable PDF ({type(e).__name__}: {e}); open it "
                             "in a PDF viewer and save or print it to a new PDF.") from None
    if not pages:
        raise RetrievalError(f"{name} has no pages; choose another file.")
    if not any(p.strip() for p in pages):
        raise RetrievalError(f"{name} has {len(pages)} page(s) but no text layer (a scanned or "
                             "image-only PDF); run OCR on it or export the text, then add that.")
    return pages


_BLOCK = {"p", "div", "section", "article", "main", "header", "footer", "li", "ul", "ol", "tr",
          "table", "blockquote", "pre", "br", "hr", "dd", "dt", "figcaption", "nav", "aside"}
_SKIP = {"script", "style", "noscript", "template", "svg", "head"}


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag != "li" else "\n\n- ")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK or tag.startswith("h") and tag[1:].isdigit():
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_text(html: str) -> str:
    """Visible text of an HTML page, headings as Markdown.

    >>> _html_text("<h2>Refunds</h2><p>Within <b>14</b> days.</p><script>x()</script>")
    '## Refunds\\n\\nWithin 14 days.'
    """
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out, blank = [], False
    for line in lines:
        if line:
            out.append(line)
            blank = False
        elif not blank and out:
            out.append("")
            blank = True
    return "\n".join(out).strip()
