"""The job runner: queue, limits, states, dead pids, cancel (cooperative and forced), resume."""

from __future__ import annotations

import os
import signal
import time

import pytest

from core import jobs
from core.jobs import files

MOD = "tests.jobs.sleeper"


def wait_state(ws, job_id, states, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs.start_pending(ws)
        job = jobs.get(ws, job_id)
        if job.state in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{job_id} stayed {jobs.get(ws, job_id).state}")


def test_submit_writes_config_first_and_queues(ws):
    job_id = jobs.submit(ws, "demo", MOD, {"steps": 2})
    job = jobs.get(ws, job_id)
    assert job.state == "queued" and job.pid is None
    assert files.read_json(job.run_dir / "config.json") == {"steps": 2}
    assert job.run_dir.parent == ws.settings.runs_dir
    assert job.command[1:3] == ["-m", MOD]
    assert jobs.get(ws, job_id[:-1]).id == job_id  # unique prefix
    with pytest.raises(jobs.JobError, match="no run 'nope'"):
        jobs.get(ws, "nope")


def test_runs_to_success_one_at_a_time(ws):
    a = jobs.submit(ws, "demo", MOD, {"steps": 4, "step_s": 0.1})
    b = jobs.submit(ws, "demo", MOD, {"steps": 2})
    assert jobs.start_pending(ws) == [a]  # limit 1 per kind
    assert jobs.get(ws, b).state == "queued"
    done = wait_state(ws, a, jobs.FINAL_STATES)
    assert done.state == "succeeded" and done.result == {"steps": 4}
    assert [m["step"] for m in jobs.read_metrics(done.run_dir)] == [1, 2, 3, 4]
    # the finished worker started the next one itself
    assert wait_state(ws, b, jobs.FINAL_STATES).state == "succeeded"


def test_failure_is_recorded_with_the_error(ws):
    j = jobs.submit(ws, "demo", MOD, {"steps": 1, "fail": True})
    job = wait_state(ws, j, jobs.FINAL_STATES)
    assert job.state == "failed" and "asked to fail" in job.error
    assert "ValueError" in jobs.read_log_tail(job.run_dir)


def test_killed_worker_shows_as_failed_then_resumes(ws):
    j = jobs.submit(ws, "demo", MOD, {"steps": 200, "step_s": 0.05})
    job = wait_state(ws, j, ("running",))
    deadline = time.time() + 10
    while not jobs.get(ws, j).pid and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(jobs.get(ws, j).pid, signal.SIGKILL)
    t0 = time.time()
    job = wait_state(ws, j, ("failed",), timeout=10)
    assert time.time() - t0 < 10
    assert "ended without finishing" in job.error
    with pytest.raises(jobs.JobError, match="already ended"):
        jobs.cancel(ws, j)
    job = jobs.resume(ws, j)
    assert job.state == "running" and job.attempts == 2
    jobs.cancel(ws, j, grace_s=5)


def test_cancel_is_cooperative(ws):
    j = jobs.submit(ws, "demo", MOD, {"steps": 400, "step_s": 0.05})
    wait_state(ws, j, ("running",))
    while not files.read_metrics(jobs.get(ws, j).run_dir):
        time.sleep(0.05)
    t0 = time.time()
    job = jobs.cancel(ws, j, grace_s=10)
    assert job.state == "cancelled" and time.time() - t0 < 5
    assert files.read_status(job.run_dir)["state"] == "cancelled"
    assert not jobs.pid_alive(job.pid, job.run_dir)


def test_cancel_forces_a_worker_that_ignores_it(ws):
    j = jobs.submit(ws, "demo", MOD, {"steps": 400, "step_s": 0.05, "ignore_term": True,
                                      "ignore_cancel": True})
    wait_state(ws, j, ("running",))
    while not files.read_metrics(jobs.get(ws, j).run_dir):
        time.sleep(0.05)
    job = jobs.cancel(ws, j, grace_s=1)
    assert job.state == "cancelled"
    assert not jobs.pid_alive(job.pid, job.run_dir)


def test_cancel_queued_and_dead_pid_never_alive(ws):
    a = jobs.submit(ws, "demo", MOD, {"steps": 100, "step_s": 0.05})
    b = jobs.submit(ws, "demo", MOD, {"steps": 1})
    jobs.start_pending(ws)
    assert jobs.cancel(ws, b).state == "cancelled"
    jobs.cancel(ws, a, grace_s=5)
    assert not jobs.pid_alive(2**22 + 12345)
    assert not jobs.pid_alive(os.getpid(), ws.settings.runs_dir / "x")  # a reused pid


def test_state_survives_a_new_workspace_object(ws):
    from core.workspace import open_workspace

    j = jobs.submit(ws, "demo", MOD, {"steps": 1})
    again = open_workspace()
    assert [x.id for x in jobs.list_jobs(again, "demo")] == [j]
    assert jobs.list_jobs(again, "other") == []
