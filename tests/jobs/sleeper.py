"""A tiny job for the runner tests: counts steps, honours cancel, can fail or ignore SIGTERM."""

from __future__ import annotations

import signal
import sys
import time

from core.jobs.worker import JobContext, run_job


def body(ctx: JobContext) -> dict:
    cfg = ctx.config()
    if cfg.get("ignore_term"):
        ctx.interruptible = False
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ctx.interruptible = False
    for step in range(1, cfg.get("steps", 5) + 1):
        if ctx.cancelled() and not cfg.get("ignore_cancel"):
            return {"state": "cancelled", "step": step}
        time.sleep(cfg.get("step_s", 0.05))
        ctx.metric({"step": step})
        ctx.status(step=step)
    if cfg.get("fail"):
        raise ValueError("asked to fail")
    return {"steps": cfg.get("steps", 5)}


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1], body))
