"""The background job queue: one SQLite row and one run folder per job, one process per run.

A job is `[python, -m, MODULE, RUN_DIR]` started with `start_new_session=True`,
so it outlives the browser tab, the Streamlit server and the CLI that started
it. The row holds the state, pid and result; the worker reports progress in
its run folder (core.jobs.files). `refresh` reconciles the two: a "running" job
whose process is gone (killed, crashed, machine rebooted) and whose status.json
is not final becomes "failed"; a final status.json wins over the row.

Trade-off: no daemon. The queue advances whenever anyone looks at it (a page
refresh, a CLI call) and when a worker exits (it calls `start_pending` itself),
which keeps the product one process plus its workers, at the price that a
queued job waits for one of those events.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import LadderError
from core.jobs.files import (
    FINAL_STATES,
    clear_cancel,
    read_status,
    request_cancel,
    write_json_atomic,
    write_status,
)


class JobError(LadderError):
    """A job action cannot be done; the message says why and what to do instead."""


@dataclass
class Job:
    id: str
    kind: str
    label: str
    run_dir: Path
    command: list[str]
    state: str
    pid: int | None
    attempts: int
    error: str | None
    result: dict
    created_at: float
    started_at: float | None
    finished_at: float | None
    status: dict = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def record(self) -> dict:
        return {"id": self.id, "kind": self.kind, "label": self.label, "state": self.state,
                "pid": self.pid, "attempts": self.attempts, "error": self.error,
                "run_dir": str(self.run_dir), "created_at": self.created_at,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "result": self.result}


def max_concurrent(kind: str) -> int:
    """Runs of one kind at once: LADDER_MAX_CONCURRENT_<KIND> or LADDER_MAX_CONCURRENT, else 1."""
    for var in (f"LADDER_MAX_CONCURRENT_{kind.upper()}", "LADDER_MAX_CONCURRENT"):
        if os.environ.get(var, "").strip().isdigit():
            return max(1, int(os.environ[var]))
    return 1


def new_job_id(prefix: str) -> str:
    """A sortable, readable id usable in model names, e.g. `ft-250612-142233-a3`."""
    return f"{prefix}-{time.strftime('%y%m%d-%H%M%S')}-{secrets.token_hex(1)}"


def submit(ws, kind: str, module: str, config: dict, *, label: str = "",
           prefix: str | None = None, launcher: list[str] | None = None) -> str:
    """Write the run folder (config.json first) and queue the job; return its id.

    Nothing starts here: call `start_pending(ws)` (the CLI and pages do) to launch.
    `launcher` runs the module under another program, e.g. `["accelerate", "launch",
    "--num_processes", "2"]` -> `python -m accelerate.commands.launch ... -m MODULE RUN_DIR`.
    """
    job_id = new_job_id(prefix or kind[:4])
    run_dir = ws.settings.runs_dir / job_id
    run_dir.mkdir(parents=True, exist_ok=False)
    write_json_atomic(run_dir / "config.json", config)
    write_json_atomic(run_dir / "job.json", {"id": job_id, "kind": kind, "module": module})
    write_status(run_dir, state="queued")
    command = launch_command(module, run_dir, launcher)
    now = time.time()
    ws.db.execute(
        "INSERT INTO jobs (id, kind, label, run_dir, command, state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
        (job_id, kind, label, str(run_dir), json.dumps(command), now, now))
    return job_id


def launch_command(module: str, run_dir: Path, launcher: list[str] | None = None) -> list[str]:
    """The command line of a job; accelerate/torchrun launchers use this interpreter's copy."""
    if not launcher:
        return [sys.executable, "-m", module, str(run_dir)]
    head, rest = launcher[0], list(launcher[1:])
    if head == "accelerate" and rest[:1] == ["launch"]:
        return [sys.executable, "-m", "accelerate.commands.launch", *rest[1:], "-m", module,
                str(run_dir)]
    if head == "torchrun":
        return [sys.executable, "-m", "torch.distributed.run", *rest, "-m", module, str(run_dir)]
    raise JobError(f"unknown launcher '{' '.join(launcher)}'; use `accelerate launch ...` or "
                   "`torchrun ...`.")


def start_pending(ws, max_running: int | None = None) -> list[str]:
    """Start queued jobs, oldest first, while fewer than the limit of their kind run."""
    refresh(ws)
    claimed: list[tuple[str, str, list[str]]] = []
    with ws.db.connect() as c:
        running: dict[str, int] = {}
        for r in c.execute("SELECT kind, COUNT(*) n FROM jobs WHERE state = 'running' GROUP BY kind"):
            running[r["kind"]] = r["n"]
        queued = c.execute("SELECT id, kind, run_dir, command FROM jobs WHERE state = 'queued'"
                           " ORDER BY created_at").fetchall()
        now = time.time()
        for r in queued:
            limit = max_running or max_concurrent(r["kind"])
            if running.get(r["kind"], 0) >= limit:
                continue
            running[r["kind"]] = running.get(r["kind"], 0) + 1
            c.execute("UPDATE jobs SET state = 'running', pid = NULL, started_at = ?,"
                      " finished_at = NULL, error = NULL, attempts = attempts + 1,"
                      " updated_at = ? WHERE id = ?", (now, now, r["id"]))
            claimed.append((r["id"], r["run_dir"], json.loads(r["command"])))
    started = []
    for job_id, run_dir, command in claimed:
        try:
            pid = _launch(ws, Path(run_dir), command)
        except OSError as e:
            _set(ws, job_id, state="failed", error=f"could not start the worker: {e}",
                 finished_at=time.time())
            continue
        _set(ws, job_id, pid=pid)
        started.append(job_id)
    return started


def _launch(ws, run_dir: Path, command: list[str]) -> int:
    env = dict(os.environ)
    env["LADDER_HOME"] = str(ws.settings.root)
    env["LADDER_MODEL_CACHE_DIR"] = str(ws.settings.model_cache)
    env["PYTHONUNBUFFERED"] = "1"
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    write_status(run_dir, state="starting", started_at=time.time())
    with open(run_dir / "log.txt", "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(command)}\n".encode())
        log.flush()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=root, env=env,
                                start_new_session=True)
    return proc.pid


def _set(ws, job_id: str, **fields) -> None:
    if "result" in fields and not isinstance(fields["result"], str | None):
        fields["result"] = json.dumps(fields["result"], default=str)
    fields["updated_at"] = time.time()
    sets = ", ".join(f"{k} = ?" for k in fields)
    ws.db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*fields.values(), job_id))


def _job(row, with_status: bool = True) -> Job:
    run_dir = Path(row["run_dir"])
    return Job(
        id=row["id"], kind=row["kind"], label=row["label"], run_dir=run_dir,
        command=json.loads(row["command"]), state=row["state"], pid=row["pid"],
        attempts=row["attempts"], error=row["error"],
        result=json.loads(row["result"]) if row["result"] else {},
        created_at=row["created_at"], started_at=row["started_at"],
        finished_at=row["finished_at"], status=read_status(run_dir) if with_status else {},
    )


def get(ws, job_id: str) -> Job:
    """The job `job_id` (a unique prefix of it is enough)."""
    rows = ws.db.query("SELECT * FROM jobs WHERE id = ?", (job_id,))
    if not rows:
        rows = ws.db.query("SELECT * FROM jobs WHERE id LIKE ? ORDER BY created_at",
                           (job_id.replace("%", "") + "%",))
        if len(rows) > 1:
            raise JobError(f"'{job_id}' matches {len(rows)} runs ({', '.join(r['id'] for r in rows[:5])}"
                           "); give more of the id.")
    if not rows:
        recent = [r["id"] for r in ws.db.query("SELECT id FROM jobs ORDER BY created_at DESC LIMIT 5")]
        hint = f" Recent runs: {', '.join(recent)}." if recent else " There are no runs yet."
        raise JobError(f"There is no run '{job_id}'.{hint}")
    return _job(rows[0])


def list_jobs(ws, kind: str | None = None) -> list[Job]:
    """Jobs, newest first (optionally of one kind)."""
    if kind:
        rows = ws.db.query("SELECT * FROM jobs WHERE kind = ? ORDER BY created_at DESC", (kind,))
    else:
        rows = ws.db.query("SELECT * FROM jobs ORDER BY created_at DESC")
    return [_job(r) for r in rows]


def pid_alive(pid: int | None, run_dir: Path | None = None) -> bool:
    """True when `pid` is a live (non-zombie) process; with `run_dir`, one that runs this job."""
    if not pid:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own finished child
    except (ChildProcessError, OSError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        if run_dir is not None:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            return str(run_dir) in cmdline  # a reused pid runs something else
    except (OSError, IndexError):
        pass
    return True


def refresh(ws, grace_s: float = 30.0) -> list[str]:
    """Reconcile running jobs with their processes and status files; return ids changed."""
    changed = []
    for row in ws.db.query("SELECT * FROM jobs WHERE state = 'running'"):
        job = _job(row)
        st = job.status
        if st.get("state") in FINAL_STATES:
            _set(ws, job.id, state=st["state"], error=st.get("error"),
                 result=st.get("result") or job.result, finished_at=st.get("finished_at") or time.time())
            changed.append(job.id)
        elif job.pid is None:
            if time.time() - (job.started_at or 0) > grace_s:
                _fail(ws, job, "the worker was never started (the program that queued it stopped "
                               "first); resume the run to start it again.")
                changed.append(job.id)
        elif not pid_alive(job.pid, job.run_dir):
            _fail(ws, job, f"the worker process {job.pid} ended without finishing (killed, "
                           "crashed or the machine restarted); read log.txt for the cause, "
                           "then resume the run to continue from its last checkpoint.")
            changed.append(job.id)
    return changed


def _fail(ws, job: Job, message: str) -> None:
    now = time.time()
    write_status(job.run_dir, state="failed", error=message, finished_at=now)
    _set(ws, job.id, state="failed", error=message, finished_at=now)


def cancel(ws, job_id: str, grace_s: float = 10.0) -> Job:
    """Stop a job: a queued one at once; a running one cooperatively, then by force.

    Writes RUN_DIR/cancel.requested and sends SIGTERM to the worker's process
    group (the worker stops after its current step); after `grace_s` seconds a
    worker still alive gets SIGKILL.
    """
    job = get(ws, job_id)
    if job.final:
        raise JobError(f"Run {job.id} already ended ({job.state}); nothing to cancel.")
    now = time.time()
    if job.state == "queued":
        write_status(job.run_dir, state="cancelled", finished_at=now)
        _set(ws, job.id, state="cancelled", finished_at=now)
        return get(ws, job.id)
    request_cancel(job.run_dir)
    if job.pid and pid_alive(job.pid, job.run_dir):
        _signal_group(job.pid, signal.SIGTERM)
        deadline = time.time() + grace_s
        while time.time() < deadline and pid_alive(job.pid, job.run_dir):
            time.sleep(0.2)
        if pid_alive(job.pid, job.run_dir):
            _signal_group(job.pid, signal.SIGKILL)
            time.sleep(0.2)
    st = read_status(job.run_dir)
    if st.get("state") not in FINAL_STATES:
        write_status(job.run_dir, state="cancelled", finished_at=time.time())
    _set(ws, job.id, state="cancelled", finished_at=time.time())
    return get(ws, job.id)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # start_new_session made the worker its group's leader
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def resume(ws, job_id: str) -> Job:
    """Queue a failed or cancelled job again; its worker continues from the last checkpoint."""
    refresh(ws)
    job = get(ws, job_id)
    if job.state in ("queued", "running"):
        raise JobError(f"Run {job.id} is {job.state}; only a failed or cancelled run can be resumed.")
    if job.state in ("succeeded", "stopped_early"):
        raise JobError(f"Run {job.id} already finished ({job.state}); start a new run instead.")
    clear_cancel(job.run_dir)
    write_status(job.run_dir, state="queued", error=None, finished_at=None)
    _set(ws, job.id, state="queued", error=None, pid=None, finished_at=None)
    start_pending(ws)
    return get(ws, job.id)


def save_result(ws, job_id: str, result: dict) -> None:
    _set(ws, job_id, result=result)


def wait(ws, job_id: str, timeout_s: float | None = None, poll_s: float = 1.0,
         on_poll=None) -> Job:
    """Block until the job ends (refreshing the queue meanwhile); return it."""
    deadline = None if timeout_s is None else time.time() + timeout_s
    while True:
        start_pending(ws)
        job = get(ws, job_id)
        if on_poll:
            on_poll(job)
        if job.final:
            return job
        if deadline is not None and time.time() > deadline:
            raise JobError(f"Run {job.id} is still {job.state} after {timeout_s:.0f} s.")
        time.sleep(poll_s)
