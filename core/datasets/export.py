"""Export a version (or one of its splits) as CSV or JSONL, safe to open in a spreadsheet.

CSV cells that begin with `=`, `+`, `-`, `@` (and tab or carriage return,
which spreadsheets also treat as the start of a formula) get a leading single
quote, the OWASP advice against formula injection; `unescape_cell` reverses it.
JSONL is written as it is: it is read by programs (training, evaluation), not
by spreadsheets, and a training set must keep "-5" as "-5".

Trade-off: an escaped CSV no longer round-trips byte for byte for cells that
start with those characters (a negative number "-5" comes back as "'-5" in a
spreadsheet); every other cell does.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from core.datasets.errors import DatasetError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "jsonl")


def needs_escape(value: str) -> bool:
    """A cell a spreadsheet would run, or one that already looks escaped ("'=..."), so
    that `unescape_cell(escape_cell(v)) == v` for every string."""
    while value.startswith("'"):
        value = value[1:]
    return value.startswith(FORMULA_START)


def escape_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula.

    >>> escape_cell("=SUM(A1:A9)"), escape_cell("fine")
    ("'=SUM(A1:A9)", 'fine')
    """
    return "'" + value if needs_escape(value) else value


def unescape_cell(value: str) -> str:
    """The inverse of `escape_cell`.

    >>> unescape_cell("'=1+1"), unescape_cell("'quoted")
    ('=1+1', "'quoted")
    """
    if value.startswith("'") and needs_escape(value[1:]):
        return value[1:]
    return value


def format_for(path: Path, fmt: str | None) -> str:
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise DatasetError(f"unknown export format '{fmt}'; use csv or jsonl.")
        return fmt
    ext = Path(path).suffix.lower()
    if ext in (".csv",):
        return "csv"
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    raise DatasetError(f"cannot tell the export format from '{Path(path).name}'; end the file "
                       "name in .csv or .jsonl, or pass --format csv|jsonl.")


def to_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """The rows as a CSV (UTF-8, header, formula-escaped) or JSONL document."""
    if fmt == "csv":
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; quotes any cell with CR or LF
        w.writerow([escape_cell(str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            w.writerow([escape_cell("" if v is None else str(v)) for v in row])
        return buf.getvalue().encode("utf-8")
    if fmt == "jsonl":
        cols = [str(c) for c in frame.columns]
        lines = (json.dumps(dict(zip(cols, ("" if v is None else str(v) for v in row),
                                     strict=True)), ensure_ascii=False)
                 for row in frame.itertuples(index=False, name=None))
        return ("\n".join(lines) + ("\n" if len(frame) else "")).encode("utf-8")
    raise DatasetError(f"unknown export format '{fmt}'; use csv or jsonl.")


def write(frame: pd.DataFrame, path: Path, fmt: str | None = None) -> tuple[Path, str]:
    """Write the rows to `path` (written to a temporary name first, then renamed)."""
    path = Path(path)
    fmt = format_for(path, fmt)
    if not path.parent.exists():
        raise DatasetError(f"the folder {path.parent} does not exist; create it or choose "
                           "another --out path.")
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(to_bytes(frame, fmt))
    tmp.replace(path)
    return path, fmt
