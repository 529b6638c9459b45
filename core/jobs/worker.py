"""The worker side of a job: status, metrics, cooperative cancel, final state, next job.

A worker module's `__main__` calls `run_job(run_dir, body)`. `body(ctx)` does
the work and returns a dict (its result; `{"state": "stopped_early"}` picks that
final state). Around it this module writes status.json, turns SIGTERM into a
cancel request (the body checks `ctx.cancelled()`; while `ctx.interruptible`
is set a SIGTERM stops at once), records a crash as "failed" with the error,
updates the job row and starts the next queued job.

Under `accelerate launch` / torchrun every process runs the body; only rank 0
(`ctx.is_main`) writes files and the database.

Trade-off: cancel is cooperative by default (the training loop stops cleanly
at a step boundary and its files stay consistent); the runner's SIGKILL after
a grace period covers a worker that does not listen.
"""

from __future__ import annotations

import errno
import os
import signal
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from core.jobs import files


class Cancelled(Exception):
    """Raised inside a worker when its job was cancelled."""


class JobContext:
    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.rank = int(os.environ.get("RANK", "0"))
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.is_main = self.rank == 0
        self.interruptible = True
        self._cancel = False
        self.started = time.time()  # time budgets count from here
        info = files.read_json(self.run_dir / "job.json") or {}
        self.job_id: str = info.get("id", self.run_dir.name)
        self.kind: str = info.get("kind", "")

    def config(self) -> dict:
        cfg = files.read_json(self.run_dir / "config.json")
        if cfg is None:
            raise RuntimeError(f"{self.run_dir}/config.json is missing or not JSON; the run "
                               "folder is damaged. Start a new run.")
        return cfg

    def update_config(self, **fields) -> None:
        """Write settings decided while running (e.g. steps from a time budget) into
        config.json, so a resume continues with the same ones."""
        if self.is_main:
            files.write_json_atomic(self.run_dir / "config.json", {**self.config(), **fields})

    def cancelled(self) -> bool:
        if not self._cancel and files.cancel_requested(self.run_dir):
            self._cancel = True
        return self._cancel

    def check_cancel(self) -> None:
        if self.cancelled():
            raise Cancelled()

    def status(self, **fields) -> None:
        if self.is_main:
            files.write_status(self.run_dir, **fields)

    def metric(self, record: dict) -> None:
        if self.is_main:
            files.append_metric(self.run_dir, record)

    def log(self, message: str) -> None:
        if self.is_main:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def _on_sigterm(self, signum, frame) -> None:
        self._cancel = True
        if self.interruptible:
            raise Cancelled()


def run_job(run_dir: str | Path, body: Callable[[JobContext], dict | None]) -> int:
    """Run `body` as the job in `run_dir`; return the process exit code."""
    ctx = JobContext(Path(run_dir))
    signal.signal(signal.SIGTERM, ctx._on_sigterm)
    ctx.status(state="running", pid=os.getpid(), started_at=time.time(), error=None,
               finished_at=None)
    result: dict = {}
    error = None
    try:
        result = body(ctx) or {}
        state = result.pop("state", "succeeded")
        if ctx.cancelled() and state == "succeeded":
            state = "cancelled"
    except Cancelled:
        state = "cancelled"
        ctx.log("cancelled")
    except BaseException as e:  # noqa: BLE001 - a crash must end as a readable "failed"
        state = "failed"
        error = f"{type(e).__name__}: {e}"
        traceback.print_exc()
        if isinstance(e, KeyboardInterrupt):
            error = "interrupted"
        elif isinstance(e, OSError) and e.errno == errno.ENOSPC:
            error = (f"the disk is full: {e}. Nothing already saved was removed; free some "
                     f"space under {ctx.run_dir.parent}, then resume the run.")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if ctx.is_main:
        now = time.time()
        ctx.status(state=state, error=error, finished_at=now, result=result)
        _record(ctx, state, error, result, now)
    ctx.log(f"finished: {state}" + (f" ({error})" if error else ""))
    return 0 if state in ("succeeded", "stopped_early", "cancelled") else 1


def _record(ctx: JobContext, state: str, error: str | None, result: dict, now: float) -> None:
    """Update the job row and start the next queued job (best effort: refresh also does it)."""
    try:
        from core.jobs import runner
        from core.workspace import open_workspace

        ws = open_workspace()
        runner._set(ws, ctx.job_id, state=state, error=error, result=result, finished_at=now)
        runner.start_pending(ws)
    except Exception as e:  # noqa: BLE001 - the status file already holds the outcome
        print(f"could not update the job row: {e}", flush=True)
