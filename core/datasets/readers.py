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

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.datasets.errors import DatasetError

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
               max_mb: int = 200, max_rows: int = 1_000_000) -> Table:
    """Read a CSV/TSV, JSONL or Excel file (a path, or the bytes of an upload).

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
    if ext in EXCEL_EXTS:
        table = _read_excel(data, name)
    else:
        text, encoding = decode_text(data, name)
        if not text.strip():
            raise DatasetError(f"{name} has no data (only blank space); export the data again "
                               "with a header row and at least one data row.")
        if ext in JSONL_EXTS:
            table = _read_jsonl(text, name, max_rows)
        else:
            table = _read_csv(text, name, max_rows, "\t" if ext == ".tsv" else None)
        table.encoding = encoding
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
    except UnicodeDecodeError:
        pass
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


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DatasetError(
            f"{name} is not valid {encoding.upper()} text ({e.reason} at byte {e.start}); save it "
            "again as UTF-8 CSV.") from None


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


def _header(names: list[str], name: str) -> list[str]:
    cols = [c.strip() or f"column_{i + 1}" for i, c in enumerate(names)]
    seen: set[str] = set()
    for c in cols:
        if c in seen:
            raise DatasetError(f"{name}: the column name '{c}' appears more than once in the "
                               "header; rename the duplicate columns so each name is unique.")
        seen.add(c)
    return cols


def _read_csv(text: str, name: str, max_rows: int, delimiter: str | None) -> Table:
    delimiter = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
        while not any(c.strip() for c in header):
            header = next(reader)
    except StopIteration:
        raise DatasetError(f"{name} has no header row; export it again with column names "
                           "in the first line.") from None
    cols = _header(header, name)
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
        raise DatasetError(f"{name}: line {reader.line_num} is not valid CSV ({e}); fix the "
                           "quoting on that line.") from None
    if not rows:
        raise DatasetError(f"{name} has a header but no data rows; add at least one row.")
    frame = pd.DataFrame(rows, columns=cols, dtype=object)
    return Table(frame, name, "csv", delimiter=delimiter)


def _show(delimiter: str) -> str:
    return "TAB" if delimiter == "\t" else delimiter


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


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
    header = _header(list(cols), name)
    data = {h: [_cell(r.get(c)) for r in records] for h, c in zip(header, cols, strict=True)}
    return Table(pd.DataFrame(data, dtype=object), name, "jsonl")


def _read_excel(data: bytes, name: str) -> Table:
    if not data.startswith(b"PK\x03\x04"):
        raise DatasetError(f"{name} is not an Excel workbook (.xlsx); save it from Excel as "
                           ".xlsx or as CSV.")
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # a corrupt or encrypted workbook
        raise DatasetError(f"{name} could not be opened as an Excel workbook ({e}); save it "
                           "again from Excel as .xlsx or as CSV.") from None
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = None
        for row in it:
            if row and any(v not in (None, "") for v in row):
                header = row
                break
        if header is None:
            raise DatasetError(f"{name} is empty (the first sheet has no cells); put a header "
                               "row and data in the first sheet.")
        width = max(i + 1 for i, v in enumerate(header) if v not in (None, ""))
        cols = _header([_cell(v) for v in header[:width]], name)
        rows = []
        for row in it:
            cells = [_cell(v) for v in row]
            extra = [c for c in cells[width:] if c.strip()]
            if extra:
                raise DatasetError(f"{name}: sheet row {len(rows) + 2} has values beyond the "
                                   f"{width} header columns (ragged rows); add a header for them "
                                   "or delete them.")
            cells = (cells + [""] * width)[:width]
            if any(c.strip() for c in cells):
                rows.append(cells)
    finally:
        wb.close()
    if not rows:
        raise DatasetError(f"{name} has a header but no data rows; add at least one row.")
    return Table(pd.DataFrame(rows, columns=cols, dtype=object), name, "xlsx",
                 notes=[f"read the first sheet, '{ws.title}'"])
