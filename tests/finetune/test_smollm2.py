"""Integration: a few LoRA steps of the packaged SmolLM2 on the sample dataset, through the worker."""

from __future__ import annotations

import pytest

from core import jobs
from core.datasets import load_sample
from core.finetune import build_config, service

pytestmark = pytest.mark.slow


def test_smollm2_quick_lora_few_steps(ws):
    load_sample(ws)
    cfg = build_config("smollm2-135m-instruct", "support-tickets", "quick",
                       {"max_steps": 4, "eval_every": 2, "eval_rows": 4, "test_rows": 8,
                        "approach": "generate"})  # the LoRA, not the preset's encoder
    started = service.start(ws, cfg)
    assert started.plan.estimate.params > 100_000_000
    assert started.plan.estimate.steps == 4
    job = jobs.wait(ws, started.run_id, timeout_s=600)
    assert job.state in ("succeeded", "stopped_early"), jobs.read_log_tail(job.run_dir)
    rec = service.get_run(ws, started.run_id)
    assert rec["model_id"] == f"smollm2-135m-instruct+{started.run_id}"
    assert rec["before"]["n"] == 8 and rec["after"]["n"] == 8
    evals = [m for m in jobs.read_metrics(job.run_dir) if m["kind"] == "eval"]
    assert [m["step"] for m in evals] == [2, 4] and evals[-1]["val_score"] is not None
    assert ws.registry.get(rec["model_id"]).base_model == "smollm2-135m-instruct"
