"""Faults around fine-tuning runs and the store, driven through the real worker and the CLI.

kill -9 at a random step then resume (tests/finetune/test_worker.py kills at a fixed step; this
one draws the step and checks the resumed run against the planned step count), a full disk
while a checkpoint is written, a corrupt adapter folder, and a locked database.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading

import pytest

from core import jobs
from core.cli import main as ladder
from core.finetune import build_config, service
from tests.faults.conftest import snapshot, wait_for
from tests.finetune.conftest import TINY


def _step(ws, run_id):
    return jobs.read_status(jobs.get(ws, run_id).run_dir).get("step") or 0


def one_line_error(capsys, code, expect_code=1) -> str:
    out = capsys.readouterr()
    assert code == expect_code, out
    err = out.err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith("ladder: error:"), err
    return err


def test_kill_9_at_a_random_step_then_resume_gives_the_planned_steps(tiny_ws, monkeypatch):
    seed = random.randrange(10**6)
    kill_at = random.Random(seed).randint(1, 10)
    print(f"kill -9 at step {kill_at} (seed {seed})")
    monkeypatch.setenv("LADDER_FINETUNE_STEP_DELAY_S", "0.2")
    cfg = build_config("tiny", "toy", None, {**TINY, "before_after": False})
    run_id = service.start(tiny_ws, cfg).run_id
    wait_for(lambda: _step(tiny_ws, run_id) >= kill_at, timeout=120, every=0.05)
    os.killpg(jobs.get(tiny_ws, run_id).pid, signal.SIGKILL)
    wait_for(lambda: service.get_run(tiny_ws, run_id)["status"] == "failed", timeout=15)
    monkeypatch.delenv("LADDER_FINETUNE_STEP_DELAY_S")
    jobs.resume(tiny_ws, run_id)
    done = jobs.wait(tiny_ws, run_id, timeout_s=180)
    assert done.state == "succeeded", jobs.read_log_tail(done.run_dir)
    assert done.result["final_step"] == TINY["max_steps"]
    steps = [m["step"] for m in jobs.read_metrics(done.run_dir) if m["kind"] == "train"]
    assert steps == sorted(steps) and steps[-1] == TINY["max_steps"]
    # the adapter is a usable model: it loads through the registry and answers
    from core.models.base import ChatPrompt, GenerationParams
    from core.models.service import generate

    [g] = generate(tiny_ws, done.result["model_id"], [ChatPrompt("the sky is blue")],
                   GenerationParams(max_new_tokens=2))
    assert g.generation.input_tokens > 0


def test_disk_full_while_writing_a_checkpoint_fails_clearly_registry_intact(tiny_ws, monkeypatch,
                                                                           capsys):
    before = [s.id for s in tiny_ws.registry.list()]
    monkeypatch.setenv("LADDER_TEST_FAIL_CHECKPOINT_WRITE", "1")  # test-only hook: ENOSPC
    cfg = build_config("tiny", "toy", None, {**TINY, "before_after": False})
    run_id = service.start(tiny_ws, cfg).run_id
    done = jobs.wait(tiny_ws, run_id, timeout_s=180)
    assert done.state == "failed"
    assert done.error.startswith("the disk is full") and "resume" in done.error, done.error
    assert [s.id for s in tiny_ws.registry.list()] == before  # nothing half-registered
    assert not (done.run_dir / "adapter").exists()
    code = ladder(["finetune", "status", run_id, "--json"])
    out = capsys.readouterr()
    assert code == 0 and "the disk is full" in json.loads(out.out)["error"]
    assert ladder(["models", "list", "--json"]) == 0
    assert sorted(m["id"] for m in json.loads(capsys.readouterr().out)["models"]) == sorted(before)


def _fake_adapter(ws, tmp_path, name="tiny+broken"):
    """A real (untrained) LoRA adapter for the tiny model, registered like a finished run's."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from core.models.registry import build_spec

    base = AutoModelForCausalLM.from_pretrained(ws.registry.get("tiny").source)
    folder = tmp_path / "adapter"
    get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(
        folder, safe_serialization=True)
    ws.registry.add(build_spec(id=name, kind="adapter", source=str(folder), base_model="tiny",
                               hourly_cost=0.25))
    return name, folder


@pytest.mark.parametrize("damage", ["missing", "garbage", "weights-missing"])
def test_corrupt_adapter_folder_is_refused_with_a_message(tiny_ws, tmp_path, capsys, damage):
    # (a first load would be cached in this process; the CLI is one process per command)
    name, folder = _fake_adapter(tiny_ws, tmp_path)
    if damage == "missing":
        (folder / "adapter_config.json").unlink()
    elif damage == "garbage":
        (folder / "adapter_config.json").write_bytes(b"\x00{not json at all")
    else:
        (folder / "adapter_model.safetensors").write_bytes(b"truncated")
    err = one_line_error(capsys, ladder(["generate", "--model", name, "the sky"]))
    assert "adapter" in err.lower() and str(folder) in err, err
    assert tiny_ws.registry.exists(name)  # refused, not silently dropped


def _hold_lock(db_path, seconds: float | None, ready: threading.Event, done: threading.Event):
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    ready.set()
    done.wait(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_locked_database_is_retried_then_a_clear_cli_error(ws, monkeypatch, capsys):
    from core.store import db as dbmod

    monkeypatch.setattr(dbmod.Database.__init__, "__defaults__", (0.05, 3))  # fast busy timeout
    path = ws.settings.root / "ladder.db"
    before = snapshot(ws.settings.root)
    # held for the whole command: retried, then one clear line, nothing changed
    ready, done = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_lock, args=(path, 30, ready, done))
    t.start()
    try:
        ready.wait(5)
        err = one_line_error(capsys, ladder(["models", "edit", "tiny-none", "--notes", "x"]))
    finally:
        done.set()
        t.join(10)
    assert "busy" in err and "try again" in err, err
    assert snapshot(ws.settings.root) == before
    # held briefly: the retries ride it out and the command succeeds
    ready, done = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_lock, args=(path, 0.3, ready, done))
    t.start()
    ready.wait(5)
    code = ladder(["models", "list", "--json"])
    t.join(10)
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["models"]


def test_two_runs_submitted_at_the_same_moment_are_both_queued(tiny_ws, monkeypatch):
    """The core half of "two sessions submit at once": two threads start runs together."""
    import threading

    from core.finetune import build_config, service
    from tests.finetune.conftest import TINY

    monkeypatch.setenv("LADDER_FINETUNE_STEP_DELAY_S", "0.3")
    barrier = threading.Barrier(2)
    started, errors = [], []

    def submit():
        cfg = build_config("tiny", "toy", None, {**TINY, "max_steps": 200,
                                                  "before_after": False})
        barrier.wait()
        try:
            started.append(service.start(tiny_ws, cfg).run_id)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors and len(set(started)) == 2
        runs = {j.id: j.state for j in jobs.list_jobs(tiny_ws, "finetune")}
        assert set(runs) == set(started)
        assert sorted(runs.values()) in (["queued", "running"], ["queued", "queued"])
    finally:
        for run_id in started:
            jobs.cancel(tiny_ws, run_id, grace_s=5)
