"""Background labelling: `python -m core.labelling.worker RUN_DIR` runs one teacher labelling.

The Data page queues this through core.jobs, so a long labelling by a hosted teacher
survives page reloads; a stop request is honoured between chunks, and queueing the same
labelling again resumes it (the answers already received are read back).
"""

from __future__ import annotations

import sys

from core.jobs.worker import JobContext, run_job

KIND = "label"
MODULE = "core.labelling.worker"


def body(ctx: JobContext) -> dict:
    from core.labelling.teacher import LabelError, label_dataset
    from core.prompts.variants import Variant
    from core.workspace import open_workspace

    cfg = ctx.config()
    ws = open_workspace()
    ctx.interruptible = False  # stop between chunks so every stored answer is whole

    def progress(done: int, total: int, eta: float | None) -> None:
        ctx.status(state="running", done=done, total=total, eta_s=eta)

    ctx.log(f"labelling '{cfg['dataset']}' with {cfg['model']}")
    try:
        res = label_dataset(ws, cfg["dataset"], cfg["model"], Variant(**cfg["variant"]),
                            limit=cfg.get("limit"), gold=cfg.get("gold"),
                            labels=cfg.get("labels"), number=cfg.get("version"),
                            progress=progress, should_stop=ctx.cancelled,
                            truncate=cfg.get("truncate"),
                            allow_one_label=bool(cfg.get("allow_one_label")))
    except LabelError:
        if ctx.cancelled():
            return {"state": "cancelled"}
        raise
    return {"dataset": res.version.dataset, "version": res.version.number,
            "created": res.created, "label_run": res.run.record(),
            "still_unlabelled": res.still_unlabelled, "truncated_rows": res.truncated}


def submit_label(ws, config: dict) -> str:
    """Queue a labelling ({dataset, model, variant, limit, gold, labels, version, truncate,
    allow_one_label}) and start it if a slot is free."""
    from core.jobs import runner

    job_id = runner.submit(ws, KIND, MODULE, config,
                           label=f"label {config['dataset']} with {config['model']}",
                           prefix="label")
    runner.start_pending(ws)
    return job_id


def latest_job(ws, dataset: str):
    """The newest labelling job of `dataset`, or None."""
    from core.jobs import runner
    from core.jobs.files import read_json

    for job in runner.list_jobs(ws, KIND):
        if (read_json(job.run_dir / "config.json") or {}).get("dataset") == dataset:
            return job
    return None


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1], body))
