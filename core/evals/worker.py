"""Background evaluation: `python -m core.evals.worker RUN_DIR` executes one stored eval run.

The page queues this through core.jobs so a long evaluation survives page
reloads and server restarts; a stop request is honoured between chunks, and
running the same eval run again resumes where it stopped.
"""

from __future__ import annotations

import sys

from core.jobs.worker import JobContext, run_job

KIND = "eval"
MODULE = "core.evals.worker"


def body(ctx: JobContext) -> dict:
    from core.evals.engine import execute_run
    from core.workspace import open_workspace

    run_id = int(ctx.config()["eval_run_id"])
    ws = open_workspace()
    ctx.interruptible = False  # stop between chunks so every stored cell is whole

    def progress(done: int, total: int, eta: float | None) -> None:
        ctx.status(state="running", done=done, total=total, eta_s=eta)

    ctx.log(f"evaluation run {run_id}")
    status = execute_run(ws, run_id, progress, should_stop=ctx.cancelled)
    result = {"eval_run_id": run_id, "status": status}
    if status == "stopped":
        result["state"] = "cancelled"
    elif status == "failed":
        from core.evals.store import get_run

        errors = get_run(ws, run_id)["errors"]
        raise RuntimeError("; ".join(f"{m}: {e}" for m, e in errors.items()))
    return result


def submit_eval(ws, run_id: int, label: str = "") -> str:
    """Queue the eval run as a background job and start it if a slot is free."""
    from core.jobs import runner

    job_id = runner.submit(ws, KIND, MODULE, {"eval_run_id": run_id},
                           label=label or f"eval run {run_id}", prefix="eval")
    runner.start_pending(ws)
    return job_id


def job_for_run(ws, run_id: int):
    """The newest job that executes eval run `run_id`, or None."""
    from core.jobs import runner
    from core.jobs.files import read_json

    for job in runner.list_jobs(ws, KIND):
        cfg = read_json(job.run_dir / "config.json") or {}
        if cfg.get("eval_run_id") == run_id:
            return job
    return None


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1], body))
