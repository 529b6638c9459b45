"""The unchanged worker as 2 CPU processes (torchrun, gloo backend), as `accelerate launch` runs it
on several GPUs. (`accelerate launch --cpu` starts one process; several CPU processes need MPI or
torchrun.)"""

from __future__ import annotations

from core import jobs
from core.finetune import build_config, service
from tests.finetune.conftest import TINY


def test_worker_runs_as_two_cpu_processes_with_gloo(tiny_ws, monkeypatch):
    monkeypatch.setenv("LADDER_FINETUNE_LAUNCH", "torchrun --nproc_per_node 2 --master_port 29517")
    cfg = build_config("tiny", "toy", None, {**TINY, "max_steps": 6, "eval_every": 3,
                                             "test_rows": 4})
    run_id = service.start(tiny_ws, cfg).run_id
    job = jobs.get(tiny_ws, run_id)
    assert job.command[1:3] == ["-m", "torch.distributed.run"]
    done = jobs.wait(tiny_ws, run_id, timeout_s=150)
    log = jobs.read_log_tail(done.run_dir, 100_000)
    assert done.state == "succeeded", log
    assert done.result["final_step"] == 6 and done.result["model_id"] == f"tiny+{run_id}"
    assert "world size 2" in log  # both ranks trained; rank 0 alone wrote and registered
    assert [m["step"] for m in jobs.read_metrics(done.run_dir) if m["kind"] == "eval"] == [3, 6]
