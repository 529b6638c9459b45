"""Read an uploaded or local file into a table of strings: CSV/TSV, JSONL and Excel.

The file's bytes are read once; the encoding (UTF-8 with or without BOM,
UTF-16, Windows-1252/Latin-1) and the CSV delimiter are detected from those
bytes, then the text is parsed in one pass with the standard `csv` module.
Every cell becomes a string ("" for a missing value), so what is stored is
exactly what the file said, and numbers are never silently reformatted.

Trade-off: the `csv` module is slower than pandas' C parser, but it reports
ragged rows (both too many and too few fields) with their line number and
handles quoted newlines, which pandas either pads silently or fails on with a
parser message that names no fix. Every bad input raises `DatasetError` before
anything is written.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.datasets.cells import cell_text, header_names
from core.datasets.errors import DatasetError
from core.datasets.excel import read_excel

CSV_EXTS = {".csv", ".tsv", ".txt"}
JSONL_EXTS = {".jsonl", ".ndjson", ".json"}
EXCEL_EXTS = {".xlsx", ".xlsm"}
SUPPORTED = sorted(CSV_EXTS | JSONL_EXTS | EXCEL_EXTS)
_MAGIC = [
    (b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"), (b"\x7fELF", "a program"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one: save it with the .xlsx extension)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.xls/.doc): save it as .xlsx or CSV"),
    (b"SQLite format 3", "an SQLite database"), (b"PAR1", "a Parquet file"),
]


@dataclass
class Table:
    """A parsed file: every cell a string, plus how it was read."""

    frame: pd.DataFrame
    filename: str
    fmt: str
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)


def read_table(source: Path | str | bytes, filename: str | None = None, *,
               max_mb: int = 200, max_rows: int = 1_000_000, sheet: str | None = None,
               encoding: str | None = None) -> Table:
    """Read a CSV/TSV, JSONL or Excel file (a path, or the bytes of an upload).

    `sheet`: the workbook sheet to read (needed when several hold data); `encoding`: the
    text encoding to use instead of detecting it (bytes not valid in it become U+FFFD and
    are counted in the notes).

    >>> read_table(b"text,label\\nhi,a\\nyo,b\\n", "x.csv").frame.shape
    (2, 2)
    """
    if isinstance(source, bytes):
        name = filename or "upload"
        size = len(source)
    else:
        path = Path(source)
        name = filename or path.name
        if not path.is_file():
            raise DatasetError(f"{path} does not exist or is not a file; check the path.")
        size = path.stat().st_size
    ext = Path(name).suffix.lower()
    if ext not in CSV_EXTS | JSONL_EXTS | EXCEL_EXTS:
        raise DatasetError(
            f"{name}: unsupported file type '{ext or '(none)'}'; save the data as "
            f"{', '.join(SUPPORTED)}.")
    limit = max_mb * 1024 * 1024
    if size > limit:
        raise DatasetError(
            f"{name} is {size / 1024 / 1024:.1f} MB, over the {max_mb} MB upload limit; "
            "split the file or raise LADDER_MAX_UPLOAD_MB.")
    if size == 0:
        raise DatasetError(f"{name} is empty (0 bytes); export the data again with a header "
                           "row and at least one data row.")
    data = source if isinstance(source, bytes) else Path(source).read_bytes()  # read once
    if sheet is not None and ext not in EXCEL_EXTS:
        raise DatasetError(f"--sheet is for Excel workbooks; {name} is a {ext} file: leave "
                           "--sheet out.")
    if ext in EXCEL_EXTS:
        frame, notes = read_excel(data, name, sheet)
        table = Table(frame, name, "xlsx", notes=notes)
    else:
        text, encoding, notes = (decode_as(data, encoding, name) if encoding
                                 else (*decode_text(data, name), []))
        if not text.strip():
            raise DatasetError(f"{name} has no data (only blank space); export the data again "
                               "with a header row and at least one data row.")
        if ext in JSONL_EXTS:
            table = _read_jsonl(text, name, max_rows)
        else:
            table = _read_csv(text, name, max_rows, "\t" if ext == ".tsv" else None, limit)
        table.encoding = encoding
        table.notes += notes
    if len(table.frame) > max_rows:
        raise DatasetError(f"{name} has {len(table.frame):,} rows, over the {max_rows:,} row "
                           "limit; sample the data or raise LADDER_MAX_ROWS.")
    return table


def decode_text(data: bytes, name: str = "the file") -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM optional), UTF-16 (BOM or NUL pattern) or Windows-1252/Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8", name), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16", name), "utf-16"
    head = data[:4096]
    if len(head) >= 4 and head.count(0) > len(head) // 4:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.8 * len(head[1::2]) and even < 0.1 * len(head[0::2]):
            return _strict(data, "utf-16-le", name), "utf-16-le"
        if even > 0.8 * len(head[0::2]) and odd < 0.1 * len(head[1::2]):
            return _strict(data, "utf-16-be", name), "utf-16-be"
    _reject_binary(data, name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        if _UTF8_MULTIBYTE.search(data):  # UTF-8 text with some bad bytes: not a legacy file
            raise DatasetError(
                f"{name} is UTF-8 text with bytes that are not valid UTF-8 (the first at "
                f"{_where(data, e.start)}: 0x{data[e.start]:02x}); reading it another way would "
                "change its other accented letters. Fix or delete those bytes, or name the "
                "encoding: --encoding utf-8 replaces them with U+FFFD, --encoding windows-1252 "
                "reads every byte as Windows-1252 (the page: 'Encoding').") from None
    try:
        text, enc = data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        text, enc = data.decode("latin-1"), "latin-1"
    bad = next((c for c in text if "\x80" <= c <= "\x9f" or (c < " " and c not in "\t\r\n")),
               None)
    if bad is not None:
        pos = text.index(bad)
        raise DatasetError(
            f"{name} is not readable text: it is not UTF-8, UTF-16 or Latin-1 (byte "
            f"0x{ord(bad):02x} at offset {pos}); open it in a spreadsheet or editor and save it "
            "as UTF-8 CSV.")
    return text, enc


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                             rb"|[\xf0-\xf4][\x80-\xbf]{3}")


def _where(data: bytes, offset: int) -> str:
    """'line L, byte offset B' of a byte offset (lines counted from 1)."""
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, byte offset {offset}"


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DatasetError(
            f"{name} is not valid {encoding.upper()} text ({e.reason} at {_where(data, e.start)});"
            " save it again as UTF-8 CSV, or name its encoding with --encoding.") from None


def decode_as(data: bytes, encoding: str, name: str = "the file") -> tuple[str, str, list[str]]:
    """(text, encoding, notes): `data` decoded as `encoding`, the user's choice; bytes not
    valid in it become U+FFFD and are counted in the notes.

    >>> text, _, notes = decode_as(b"caf\\xc3\\xa9 \\xff", "utf-8")
    >>> text == "caf\\u00e9 \\ufffd", notes
    (True, ['1 byte not valid UTF-8 replaced with U+FFFD (the first at line 1, byte offset 6)'])
    """
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DatasetError(f"--encoding {encoding!r} is not an encoding Python knows; use e.g. "
                           "utf-8, windows-1252, latin-1 or utf-16.") from None
    if codec.startswith("utf-8") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(codec), codec, []
    except UnicodeDecodeError as e:
        first = e.start
    text = data.decode(codec, errors="replace")
    n = text.count("\ufffd") - data.decode(codec, errors="ignore").count("\ufffd")
    return text, codec, [f"{n} byte{'s' if n != 1 else ''} not valid {encoding.upper()} "
                         f"replaced with U+FFFD (the first at {_where(data, first)})"]


def _reject_binary(data: bytes, name: str) -> None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise DatasetError(f"{name} is a binary file ({what}), not CSV or JSONL text; "
                               "export the data as CSV or JSONL.")
    if b"\x00" in data[:8192]:
        raise DatasetError(f"{name} is a binary file (it contains NUL bytes), not CSV or JSONL "
                           "text; export the data as CSV or JSONL.")


def sniff_delimiter(text: str) -> str:
    """The delimiter among , ; TAB | that occurs most often in the header, outside quotes.

    >>> sniff_delimiter('a;b;"c,d"\\n1;2;3')
    ';'
    """
    counts = dict.fromkeys(",;\t|", 0)
    quoted = False
    for ch in text[:65536]:
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted:
            break
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else ","


def _read_csv(text: str, name: str, max_rows: int, delimiter: str | None,
              field_limit: int = 200 * 1024 * 1024) -> Table:
    """Parse CSV text; a field may be as long as the upload limit (`field_limit`), not the
    csv module's 131,072 characters."""
    delimiter = delimiter or sniff_delimiter(text)
    csv.field_size_limit(max(field_limit, csv.field_size_limit()))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
        while not any(c.strip() for c in header):
            header = next(reader)
    except StopIteration:
        raise DatasetError(f"{name} has no header row; export it again with column names "
                           "in the first line.") from None
    except csv.Error as e:
        raise _csv_error(name, reader.line_num, e) from None
    cols = header_names(header, name)
    width = len(cols)
    rows: list[list[str]] = []
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip() and width > 1):
                continue  # blank line
            if len(fields) != width:
                raise DatasetError(
                    f"{name}: line {reader.line_num} has {len(fields)} fields but the header has "
                    f"{width} (ragged rows); quote fields that contain '{_show(delimiter)}' or "
                    "fix that line.")
            rows.append(fields)
            if len(rows) > max_rows:
                raise DatasetError(f"{name} has more than {max_rows:,} rows, over the row limit; "
                                   "sample the data or raise LADDER_MAX_ROWS.")
    except csv.Error as e:
        raise _csv_error(name, reader.line_num, e) from None
    if not rows:
        raise DatasetError(f"{name} has a header but no data rows; add at least one row.")
    frame = pd.DataFrame(rows, columns=cols, dtype=object)
    return Table(frame, name, "csv", delimiter=delimiter)


def _csv_error(name: str, line: int, e: csv.Error) -> DatasetError:
    if "field larger than field limit" in str(e):
        return DatasetError(
            f"{name}: a field ending on line {line} is longer than the field-size limit of "
            f"{csv.field_size_limit():,} characters (the upload limit); split that text or raise "
            "LADDER_MAX_UPLOAD_MB.")
    return DatasetError(f"{name}: line {line} is not valid CSV ({e}); fix the quoting on that "
                        "line.")


def _show(delimiter: str) -> str:
    return "TAB" if delimiter == "\t" else delimiter


def _no_dup_keys(name: str, line: int):
    def hook(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise DatasetError(f"{name}: line {line} has the key '{dup}' twice (duplicate "
                               "column names); rename it so each key is unique.")
        return dict(pairs)
    return hook


def _read_jsonl(text: str, name: str, max_rows: int) -> Table:
    stripped = text.lstrip()
    records: list[dict] = []
    if stripped.startswith("["):  # a JSON array of objects
        try:
            data = json.loads(stripped, object_pairs_hook=_no_dup_keys(name, 1))
        except json.JSONDecodeError as e:
            raise DatasetError(f"{name} is not valid JSON ({e.msg} at line {e.lineno}); fix it "
                               "or save one JSON object per line (JSONL).") from None
        records = data if isinstance(data, list) else []
        lines = range(1, len(records) + 1)
    else:
        lines = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line, object_pairs_hook=_no_dup_keys(name, n)))
            except json.JSONDecodeError as e:
                raise DatasetError(f"{name}: line {n} is not valid JSON ({e.msg}); fix that "
                                   "line so each line holds one JSON object.") from None
            lines.append(n)
            if len(records) > max_rows:
                raise DatasetError(f"{name} has more than {max_rows:,} rows, over the row "
                                   "limit; sample the data or raise LADDER_MAX_ROWS.")
    if not records:
        raise DatasetError(f"{name} holds no records; save one JSON object per line.")
    cols: dict[str, None] = {}
    for n, rec in zip(lines, records, strict=True):
        if not isinstance(rec, dict):
            raise DatasetError(f"{name}: line {n} is not a JSON object; save one object per "
                               "line, e.g. {\"text\": \"...\", \"label\": \"...\"}.")
        cols.update(dict.fromkeys(rec))
    header = header_names(list(cols), name)
    data = {h: [cell_text(r.get(c)) for r in records] for h, c in zip(header, cols, strict=True)}
    return Table(pd.DataFrame(data, dtype=object), name, "jsonl")
