"""The worker as a real subprocess on the tiny model: CLI end to end, cancel, kill -9 + resume,
early stopping on a constructed overfitting case."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from core import jobs
from core.finetune import build_config, service
from tests.conftest import LADDER, wait_for
from tests.finetune.conftest import TINY, add_dataset_assigned, toy_frame


def ladder(*args, timeout=180):
    return subprocess.run([*LADDER, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ))


def test_cli_start_wait_runs_the_worker_end_to_end(tiny_ws):
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    p = ladder("finetune", "start", "--data", "toy", "--model", "tiny", *sets, "--wait", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"run_id", "status", "adapter_path", "model_id", "before", "after"} <= set(out)
    assert out["status"] == "succeeded" and out["model_id"] == f"tiny+{out['run_id']}"
    for side in ("before", "after"):
        assert out[side]["n"] == 12 and out[side]["ci_low"] <= out[side]["score"] <= out[side]["ci_high"]
    ws = tiny_ws
    spec = ws.registry.get(out["model_id"])
    assert spec.kind == "adapter" and spec.base_model == "tiny" and spec.hourly_cost == 0.25
    run_dir = jobs.get(ws, out["run_id"]).run_dir
    assert (run_dir / "adapter" / "adapter_config.json").exists()
    assert json.loads((run_dir / "results.json").read_text())["model_id"] == out["model_id"]
    evals = [m for m in jobs.read_metrics(run_dir) if m["kind"] == "eval"]
    assert [m["step"] for m in evals] == [4, 8, 12]
    assert all(m["val_loss"] is not None and m["val_score"] is not None for m in evals)
    train = [m for m in jobs.read_metrics(run_dir) if m["kind"] == "train"]
    assert train[-1]["step"] == 12 and all("lr" in m and "eta_s" in m for m in train)
    st = ladder("finetune", "status", out["run_id"][:-1], "--json")
    assert json.loads(st.stdout)["status"] == "succeeded" and "pid" in json.loads(st.stdout)
    assert json.loads(st.stdout)["trained_model"] == "tiny"  # generate trains the picked model
    assert out["run_id"] in ladder("finetune", "list").stdout
    again = ladder("finetune", "cancel", out["run_id"])
    assert again.returncode == 1 and "already ended" in again.stderr
    bad = ladder("finetune", "start", "--data", "toy", "--model", "tiny", "--set", "lr=0")
    assert bad.returncode == 1 and "lr must be positive" in bad.stderr
    # exports: the adapter as a zip, and base + adapter merged into one ordinary model
    import zipfile

    from transformers import AutoModelForCausalLM

    from core.finetune.artifacts import adapter_zip

    assert "adapter_config.json" in zipfile.ZipFile(adapter_zip(run_dir)).namelist()
    merged = service.export_merged(ws, out["run_id"])
    assert AutoModelForCausalLM.from_pretrained(merged).config.num_hidden_layers == 2
    # the adapter loads and answers like any registered model
    from core.models.base import ChatPrompt, GenerationParams
    from core.models.service import generate

    [g] = generate(ws, out["model_id"], [ChatPrompt("the sky is blue")],
                   GenerationParams(max_new_tokens=2))
    assert g.generation.input_tokens > 0 and g.generation.latency_s > 0


def _slow_run(ws, monkeypatch, **over):
    monkeypatch.setenv("LADDER_FINETUNE_STEP_DELAY_S", "0.25")
    cfg = build_config("tiny", "toy", None, {**TINY, "before_after": False, **over})
    return service.start(ws, cfg).run_id


def _step(ws, run_id):
    return jobs.read_status(jobs.get(ws, run_id).run_dir).get("step") or 0


def test_cancel_stops_the_worker_cooperatively(tiny_ws, monkeypatch):
    run_id = _slow_run(tiny_ws, monkeypatch, max_steps=200)
    wait_for(lambda: _step(tiny_ws, run_id) >= 2, timeout=60)
    t0 = time.time()
    job = jobs.cancel(tiny_ws, run_id, grace_s=10)
    assert job.state == "cancelled" and time.time() - t0 < 8
    assert jobs.read_status(job.run_dir)["state"] == "cancelled"  # the worker's own final word
    assert not jobs.pid_alive(job.pid)
    assert not tiny_ws.registry.exists(f"tiny+{run_id}")


def test_kill_9_shows_failed_and_resume_completes(tiny_ws, monkeypatch):
    run_id = _slow_run(tiny_ws, monkeypatch, max_steps=12)
    run_dir = jobs.get(tiny_ws, run_id).run_dir
    wait_for(lambda: (run_dir / "checkpoints" / "checkpoint-4" / "trainer_state.json").exists()
             and _step(tiny_ws, run_id) >= 6, timeout=90)
    os.killpg(jobs.get(tiny_ws, run_id).pid, signal.SIGKILL)
    t0 = time.time()
    job = wait_for(lambda: (j := service.get_run(tiny_ws, run_id))["status"] == "failed" and j,
                   timeout=10)
    assert time.time() - t0 < 10 and "resume" in job["error"]
    monkeypatch.delenv("LADDER_FINETUNE_STEP_DELAY_S")
    jobs.resume(tiny_ws, run_id)
    done = jobs.wait(tiny_ws, run_id, timeout_s=120)
    assert done.state == "succeeded", jobs.read_log_tail(run_dir)
    assert done.result["final_step"] == 12 and done.attempts == 2
    assert "resuming from checkpoint-" in jobs.read_log_tail(run_dir)
    steps = [m["step"] for m in jobs.read_metrics(run_dir) if m["kind"] == "train"]
    assert steps == sorted(steps) and steps[-1] == 12  # curves repeat no step after resume
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_ws.registry.get("tiny").source)
    model = PeftModel.from_pretrained(base, done.result["adapter_path"])
    assert any("lora_B" in n and p.abs().sum() > 0 for n, p in model.named_parameters())


def test_early_stopping_on_a_constructed_overfitting_case(tiny_ws):
    # train rows all say "yes", validation rows all say "no": learning the train split
    # makes validation loss rise at every evaluation.
    frame = toy_frame(40)
    frame["label"] = ["yes"] * 28 + ["no"] * 6 + ["yes", "no"] * 3
    add_dataset_assigned(tiny_ws, "overfit", frame, [0] * 28 + [1] * 6 + [2] * 6)
    cfg = build_config("tiny", "overfit", None, {
        **TINY, "method": "full", "lr": 5e-3, "max_steps": 60, "eval_every": 3,
        "early_stopping_patience": 2, "before_after": False, "overfit_patience": 2})
    run_id = service.start(tiny_ws, cfg).run_id
    job = jobs.wait(tiny_ws, run_id, timeout_s=120)
    assert job.state == "stopped_early", jobs.read_log_tail(job.run_dir)
    evals = [m for m in jobs.read_metrics(job.run_dir) if m["kind"] == "eval"]
    assert job.result["final_step"] < 60 and len(evals) >= 3
    assert evals[-1]["early_stop"].startswith("val_loss did not improve")
    assert any(a["kind"] == "overfitting" for m in evals for a in m["alarms"])
    assert tiny_ws.registry.exists(f"tiny+{run_id}")  # the best checkpoint is kept and usable
    assert tiny_ws.registry.get(f"tiny+{run_id}").kind == "finetuned"  # a full fine-tune
    best = min(evals, key=lambda m: m["val_loss"])["step"]
    assert job.result["best_checkpoint"].endswith(f"checkpoint-{best}")
    assert job.result["final_step"] == best + 2 * 3  # patience 2 x eval_every 3


def test_a_budgeted_run_measures_plans_and_records_where_its_time_went(tiny_ws):
    """time_budget_min on the real worker: it measures its speed, fits steps ending on an
    evaluation, stays near its budget and records the timing keys."""
    cfg = build_config("tiny", "toy", None, {**TINY, "max_steps": 0, "time_budget_min": 0.5,
                                             "evaluations": 2, "epochs": 2.0})
    run_id = service.start(tiny_ws, cfg).run_id
    wait_for(lambda: service.get_run(tiny_ws, run_id)["status"] not in ("queued", "running"),
             timeout=240, every=1)
    rec = service.get_run(tiny_ws, run_id)
    assert rec["status"] == "succeeded", rec.get("error")
    run_dir = jobs.get(tiny_ws, run_id).run_dir
    res = json.loads((run_dir / "results.json").read_text())
    for key in ("load_s", "measure_s", "train_s", "validate_s", "score_s", "wall_s",
                "examples_seen", "validate_score_share"):
        assert res[key] is not None and res[key] >= 0, key
    budget = json.loads((run_dir / "budget.json").read_text())
    assert budget["total_s"] == 30 and budget["steps"] >= 1
    assert budget["speed"]["eval_s_per_token"] > 0 and budget["speed"]["score_s_per_row"] > 0
    evals = [m["step"] for m in jobs.read_metrics(run_dir) if m["kind"] == "eval"]
    # the run ends on an evaluation: at its planned last step, or where the deadline stopped it
    assert evals and evals[-1] == rec["step"] <= rec["max_steps"]
