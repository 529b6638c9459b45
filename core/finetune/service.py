"""What the CLI and the Fine-tuning page call: check and start a run, read runs back.

`start(ws, cfg)` validates and estimates first (core.finetune.plan), then
writes the run folder and queues the job; nothing is queued when any check
fails. Reading functions merge the job row, status.json, metrics.jsonl and
results.json into plain records, so the page and `--json` show the same thing.

Trade-off: runs are jobs of kind "finetune" rather than a table of their own;
the settings live in the run folder's config.json, which is the single source
for repeating or resuming a run.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict, dataclass

from core import jobs
from core.finetune.config import FinetuneConfig, trained_model
from core.finetune.plan import Plan, plan_run
from core.finetune.prompting import prompt_record
from core.jobs.files import read_json, read_metrics

KIND = "finetune"
# where a finished run's time went and what it learned from (results.json)
TIMING = ("baseline_s", "load_s", "measure_s", "train_s", "validate_s", "save_s", "score_s",
          "wall_s", "validate_score_share", "examples_seen", "epochs_seen", "real_tokens",
          "computed_tokens")
MODULE = "core.finetune.worker"


@dataclass
class Started:
    run_id: str
    plan: Plan


def start(ws, cfg: FinetuneConfig, progress=None) -> Started:
    """Validate, estimate, queue and (when a slot is free) start a run.

    LADDER_FINETUNE_LAUNCH (e.g. "accelerate launch --num_processes 2") runs the worker
    under a multi-process launcher; unset, it is one plain process.
    """
    plan = plan_run(ws, cfg, progress)
    label = f"{trained_model(cfg.base_model, plan.config.approach)} on {cfg.dataset} v{plan.config.dataset_version}"
    launcher = shlex.split(os.environ.get("LADDER_FINETUNE_LAUNCH", "")) or None
    run_id = jobs.submit(ws, KIND, MODULE, plan.config.model_dump(mode="json"), label=label,
                         prefix="ft", launcher=launcher)
    (ws.settings.runs_dir / run_id / "estimate.json").write_text(
        json.dumps(asdict(plan.estimate), default=str))
    jobs.start_pending(ws)
    return Started(run_id, plan)


def run_record(ws, job) -> dict:
    """The public record of a run (CLI `--json` keys and the page's table)."""
    results = read_json(job.run_dir / "results.json") or {}
    res = {**job.result, **results}
    st = job.status
    cfg = read_json(job.run_dir / "config.json") or {}
    return {
        "run_id": job.id, "status": job.state, "pid": job.pid, "label": job.label,
        "phase": st.get("phase"), "step": st.get("step"), "max_steps": st.get("max_steps"),
        "eta_s": st.get("eta_s"), "error": job.error, "alarms": st.get("alarms") or [],
        "adapter_path": res.get("adapter_path"), "model_id": res.get("model_id"),
        "before": res.get("before"), "after": res.get("after"), "flipped": res.get("flipped"),
        "p_value": res.get("p_value"), "scorer": res.get("scorer"),
        "scorer_why": res.get("scorer_why"), "comparison": res.get("comparison"),
        "changed": res.get("changed"), "samples": res.get("samples"),
        "graded": res.get("graded"), "head_to_head": res.get("head_to_head"),
        "best_checkpoint": res.get("best_checkpoint"), "best_metric": res.get("best_metric"),
        "warm_start": res.get("warm_start"), "final_step": res.get("final_step"), "base_model": cfg.get("base_model"),
        "trained_model": trained_model(cfg.get("base_model"), cfg.get("approach")),
        "dataset": cfg.get("dataset"), "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at,
        "run_dir": str(job.run_dir), "config": cfg,
        "prompt": prompt_record(cfg) if cfg else None,
        "traded": ((read_json(job.run_dir / "budget.json") or {}).get("scoring") or {}
                   ).get("traded") or [],
        **{k: res.get(k) for k in TIMING},
    }


def list_runs(ws) -> list[dict]:
    jobs.refresh(ws)
    return [run_record(ws, j) for j in jobs.list_jobs(ws, KIND)]


def get_run(ws, run_id: str) -> dict:
    jobs.refresh(ws)
    return run_record(ws, jobs.get(ws, run_id))


def metrics(ws, run_id: str) -> list[dict]:
    return read_metrics(jobs.get(ws, run_id).run_dir)


def export_merged(ws, run_id: str):
    """Merge a finished run's adapter into its base and save it in RUN_DIR/merged."""
    from core.finetune.artifacts import export_merged as merge
    from core.models.cache import materialize

    rec = get_run(ws, run_id)
    base = ws.registry.get(rec["base_model"])
    return merge(ws, jobs.get(ws, run_id).run_dir, materialize(base, ws.settings.model_cache))
