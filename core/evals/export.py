"""Per-row outputs of an evaluation run, for an analyst to read or score with their own metric.

One line per stored cell (model x variant x row x sample) with the row's input and all its
references beside the output, the parsed answer, the score and the cell's tokens, latency
and cost. The same rows feed `ladder eval --out`, `ladder eval export` and the pages'
download buttons, so every path exports the same thing.

Inputs and references are read back from the dataset version the run used (the run stores
its hash), with the same split, sample size and seed, so a row id means the same row it
meant when the run was made. A run whose dataset version was deleted since still exports
its outputs, with empty inputs and references.

CSV text cells that a spreadsheet would run as a formula get a leading quote (as the
dataset export does, see `core.datasets.export`); JSONL keeps every value as it is, with
numbers as numbers and `references` as a list. Nothing from the run's configuration is
written, so no key, URL or secret can leak into the file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from core.datasets.export import escape_cell
from core.errors import LadderError

COLUMNS = ("run_id", "model", "variant", "row_id", "sample", "input", "reference", "references",
           "output", "parsed", "score", "passed", "error_kind", "input_tokens", "output_tokens",
           "latency_s", "cost_usd", "cached")
TEXT_COLUMNS = ("model", "variant", "input", "reference", "output", "parsed", "error_kind")
FORMATS = {".csv": "csv", ".jsonl": "jsonl"}


class ExportError(LadderError):
    """Rows cannot be exported; the message says what to fix."""


def run_rows(ws, run_id: int) -> list[dict]:
    """Every stored cell of `run_id`, with its row's input and references, in a stable order
    (model, variant, row id, sample). Raises ExportError for a run that does not exist."""
    from core.evals.store import cells_frame, get_run

    if not ws.db.query("SELECT 1 FROM eval_runs WHERE id = ?", (int(run_id),)):
        raise ExportError(_unknown_run(ws, run_id))
    data = dataset_rows(ws, get_run(ws, run_id))
    out = []
    for c in cells_frame(ws, run_id).to_dict("records"):
        row = data.get(int(c["row_id"]), {})
        refs = [str(t) for t in (row.get("targets") or ([row["target"]] if "target" in row
                                                        else []))]
        out.append({
            "run_id": int(run_id), "model": c["model_id"], "variant": c["variant"],
            "row_id": int(c["row_id"]), "sample": int(c["sample"]),
            "input": row.get("input", ""), "reference": refs[0] if refs else "",
            "references": refs, "output": c["output"], "parsed": _value(c["parsed"]),
            "score": _number(c["score"]), "passed": bool(c["passed"]),
            "error_kind": _value(c["error_kind"]), "input_tokens": _int(c["input_tokens"]),
            "output_tokens": _int(c["output_tokens"]), "latency_s": _number(c["latency_s"]),
            "cost_usd": _number(c["cost_usd"]), "cached": bool(c["cached"]),
        })
    return out


def dataset_rows(ws, run: dict) -> dict[int, dict]:
    """The rows of the dataset version `run` was made on, by row id: the run's own split and
    sample (where several references of one input are grouped), then any other row of that
    version by its index. Empty when the version no longer exists."""
    by_id = {int(r["row_id"]): r for r in _version_rows(ws, run, "all")}
    by_id.update({int(r["row_id"]): r for r in evaluated_rows(ws, run)})  # the run's own win
    return by_id


def evaluated_rows(ws, run: dict) -> list[dict]:
    """The rows `run` evaluated (its split, sample size and seed on its dataset version)."""
    cfg = run["config"]
    return _version_rows(ws, run, cfg.get("split", "test"), cfg.get("limit"))


def _version_rows(ws, run: dict, split: str, limit: int | None = None) -> list[dict]:
    from core.datasets.errors import DatasetError
    from core.evals.rows import load_rows

    found = ws.db.query("SELECT number FROM dataset_versions WHERE dataset = ? AND hash = ?",
                        (run["dataset"], run["version_hash"]))
    if not found:
        return []
    try:
        return load_rows(ws, run["dataset"], split, limit=limit,
                         seed=run["config"].get("seed", 0), version=int(found[0]["number"])).rows
    except DatasetError:  # its split was removed since: rows by index still hold
        return []


def format_of(path: str | Path) -> str:
    """csv or jsonl, from the file name's extension.

    >>> format_of("rows.CSV"), format_of("out/rows.jsonl")
    ('csv', 'jsonl')
    """
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ExportError(f"cannot tell the format of '{Path(path).name}': end the file name "
                          "in .csv or .jsonl.")
    return fmt


def check_path(path: str | Path) -> tuple[Path, str]:
    """The path and its format, checked before any work is done: a known extension and an
    existing folder."""
    path = Path(path)
    fmt = format_of(path)
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name ending in .csv or .jsonl.")
    if not path.parent.is_dir():
        raise ExportError(f"the folder {path.parent} does not exist; create it or choose "
                          "another --out path.")
    return path, fmt


def rows_bytes(rows: list[dict], fmt: str) -> bytes:
    """The rows as CSV (UTF-8, header, formula-escaped text, `references` as a JSON list)
    or JSONL (one JSON object a line, values as they are)."""
    if fmt == "jsonl":
        lines = (json.dumps({k: r[k] for k in COLUMNS}, ensure_ascii=False) for r in rows)
        return ("".join(line + "\n" for line in lines)).encode("utf-8")
    if fmt != "csv":
        raise ExportError(f"unknown format '{fmt}'; use csv or jsonl.")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; quotes any cell with CR or LF
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_csv_cell(k, r[k]) for k in COLUMNS])
    return buf.getvalue().encode("utf-8")


def write_rows(rows: list[dict], path: str | Path) -> tuple[Path, str]:
    """Write the rows to `path` (.csv or .jsonl), through a temporary file renamed at the end,
    so a failed write leaves no half file. Returns the path and the format."""
    path, fmt = check_path(path)
    data = rows_bytes(rows, fmt)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise ExportError(f"cannot write {path}: {e.strerror or e}; choose another --out "
                          "path.") from None
    return path, fmt


def _csv_cell(column: str, value) -> str:
    if value is None:
        return ""
    if column == "references":
        return json.dumps(value, ensure_ascii=False)  # starts with "[": never a formula
    if isinstance(value, bool):
        return "true" if value else "false"
    if column in TEXT_COLUMNS:
        return escape_cell(str(value))
    return str(value)


def _unknown_run(ws, run_id) -> str:
    ids = [str(r["id"]) for r in ws.db.query("SELECT id FROM eval_runs ORDER BY id DESC LIMIT 5")]
    known = f"the latest are {', '.join(ids)}" if ids else "there are none yet"
    return (f"there is no evaluation run {run_id} ({known}); `ladder eval --json` prints the "
            "run_id of each run it makes.")


def _value(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _number(v) -> float | None:
    v = _value(v)
    return None if v is None else float(v)


def _int(v) -> int | None:
    v = _value(v)
    return None if v is None else int(v)
