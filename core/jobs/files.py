"""The run folder of a background job: the files a worker writes and the dashboard reads.

    RUN_DIR/config.json        what to do (written before the job is queued)
    RUN_DIR/job.json           the job id and kind, for the worker to find its row
    RUN_DIR/status.json        the latest state, replaced atomically (tmp + rename)
    RUN_DIR/metrics.jsonl      one JSON record per line, appended
    RUN_DIR/log.txt            the worker's stdout and stderr
    RUN_DIR/cancel.requested   present when a cancel was asked for

Trade-off: plain files instead of the database for progress. A worker writes
many small updates; files never lock the dashboard's SQLite reads, survive any
crash in a readable state (status.json is never half written) and can be
inspected with `cat`. The database row holds only what the queue needs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FINAL_STATES = ("succeeded", "failed", "cancelled", "stopped_early")
STATES = ("queued", "running", *FINAL_STATES)
CANCEL_FLAG = "cancel.requested"


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to `path` so a reader sees either the old or the new file, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def read_status(run_dir: Path) -> dict:
    return read_json(Path(run_dir) / "status.json") or {}


def write_status(run_dir: Path, **fields) -> dict:
    """Merge `fields` into status.json (atomically) and return the new status."""
    status = read_status(run_dir)
    status.update(fields)
    status["updated_at"] = time.time()
    write_json_atomic(Path(run_dir) / "status.json", status)
    return status


def append_metric(run_dir: Path, record: dict) -> None:
    """Append one record to metrics.jsonl (one write call, so lines never interleave)."""
    line = json.dumps({"t": round(time.time(), 3), **record}, default=_plain) + "\n"
    with open(Path(run_dir) / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(line)


def read_metrics(run_dir: Path) -> list[dict]:
    """All complete records of metrics.jsonl; a half-written last line is skipped."""
    path = Path(run_dir) / "metrics.jsonl"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def truncate_metrics(run_dir: Path, after_step: int) -> int:
    """Drop records past `after_step` (a resumed run repeats those steps); return how many."""
    records = read_metrics(run_dir)
    keep = [r for r in records if r.get("step", 0) <= after_step]
    path = Path(run_dir) / "metrics.jsonl"
    tmp = path.with_name(".metrics.jsonl.tmp")
    tmp.write_text("".join(json.dumps(r, default=_plain) + "\n" for r in keep), encoding="utf-8")
    os.replace(tmp, path)
    return len(records) - len(keep)


def read_log_tail(run_dir: Path, max_chars: int = 20_000) -> str:
    path = Path(run_dir) / "log.txt"
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_chars))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def request_cancel(run_dir: Path) -> None:
    (Path(run_dir) / CANCEL_FLAG).write_text(str(time.time()))


def cancel_requested(run_dir: Path) -> bool:
    return (Path(run_dir) / CANCEL_FLAG).exists()


def clear_cancel(run_dir: Path) -> None:
    (Path(run_dir) / CANCEL_FLAG).unlink(missing_ok=True)


def _plain(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return str(x)
