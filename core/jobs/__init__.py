"""Background jobs (fine-tuning, evaluation runs): a queue in SQLite, one process per run.

    job_id = submit(ws, "finetune", "core.finetune.worker", config_dict)
    start_pending(ws)            # starts queued jobs up to the per-kind limit
    get(ws, job_id).state        # queued, running, succeeded, failed, cancelled, stopped_early
    cancel(ws, job_id)           # cooperative, then SIGKILL after grace_s
    resume(ws, job_id)           # requeue; the worker continues from its checkpoint

A worker module calls `core.jobs.worker.run_job(run_dir, body)`; progress goes
to files in the run folder (`core.jobs.files`). See runner.py for the design.
"""

from core.jobs.files import (
    FINAL_STATES,
    STATES,
    append_metric,
    read_log_tail,
    read_metrics,
    read_status,
    write_status,
)
from core.jobs.runner import (
    Job,
    JobError,
    cancel,
    get,
    list_jobs,
    max_concurrent,
    pid_alive,
    refresh,
    resume,
    save_result,
    start_pending,
    submit,
    wait,
)

__all__ = [
    "FINAL_STATES", "STATES", "Job", "JobError", "append_metric", "cancel", "get", "list_jobs",
    "max_concurrent", "pid_alive", "read_log_tail", "read_metrics", "read_status", "refresh",
    "resume", "save_result", "start_pending", "submit", "wait", "write_status",
]
