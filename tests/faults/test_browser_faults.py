"""Faults seen from the browser: a server restart during a run, two sessions submitting runs at
once, an upload on the Data page while a run trains. Real `streamlit run` + headless chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import jobs
from core.finetune import build_config, service
from tests.browser.conftest import free_port, start_server
from tests.browser.test_walkthrough import SHOTS, choose, stop, tab
from tests.faults.conftest import wait_for
from tests.finetune.conftest import TINY

pytestmark = pytest.mark.browser
SLOW = {"LADDER_ALLOW_TINY": "1", "LADDER_FINETUNE_STEP_DELAY_S": "0.3"}


def _cancel_all(ws):
    for job in jobs.list_jobs(ws):
        if job.state in ("queued", "running"):
            jobs.cancel(ws, job.id, grace_s=5)


@pytest.fixture
def serve(tiny_ws):
    procs = []

    def _serve(port=None, env=SLOW):
        port = port or free_port()
        procs.append(start_server(Path(tiny_ws.settings.root), port, env))
        return procs[-1], f"http://127.0.0.1:{port}"

    yield _serve
    for p in procs:
        if p.poll() is None:
            stop(p)
    _cancel_all(tiny_ws)


def _step_now(page) -> int:
    loc = page.get_by_text(re.compile(r"step \d+ of \d+")).first
    loc.wait_for(timeout=60_000)
    return int(re.search(r"step (\d+) of", loc.inner_text()).group(1))


def _runs_tab(page, url):
    page.goto(f"{url}/finetune", timeout=60_000)
    page.get_by_text("New run").first.wait_for(timeout=60_000)
    tab(page, "Runs")


def test_server_restart_during_a_run_reattaches_to_the_live_chart(tiny_ws, serve, browser,
                                                                   monkeypatch):
    monkeypatch.setenv("LADDER_FINETUNE_STEP_DELAY_S", "0.3")
    cfg = build_config("tiny", "toy", None, {**TINY, "max_steps": 400, "before_after": False})
    run_id = service.start(tiny_ws, cfg).run_id
    port = free_port()
    proc, url = serve(port)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _runs_tab(page, url)
    page.get_by_text(f"{run_id}: running").wait_for(timeout=90_000)
    first = _step_now(page)
    stop(proc)  # the server goes away; the worker is its own process group and keeps training
    assert jobs.pid_alive(jobs.get(tiny_ws, run_id).pid)
    serve(port)
    _runs_tab(page, url)
    page.get_by_text(f"{run_id}: running").wait_for(timeout=90_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # the live chart is back
    wait_for(lambda: _step_now(page) > first + 1, timeout=60, every=0.5)  # and it moves
    page.screenshot(path=str(_shot("fault-restart-reattached")), full_page=True)


def _shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"


def test_two_sessions_submit_runs_at_once_both_are_queued(tiny_ws, serve, browser):
    _, url = serve()
    pages = [browser.new_page(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    for p in pages:
        p.goto(f"{url}/finetune", timeout=60_000)
        p.get_by_text("New run").first.wait_for(timeout=60_000)
        choose(p, "ft_model", "tiny")
        p.get_by_text("Preset").first.wait_for(timeout=60_000)
        p.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
    buttons = [p.get_by_role("button", name="Start run") for p in pages]
    for b in buttons:  # click both before either answers
        b.click(no_wait_after=True)
    failed = "[data-testid='stException'], [data-testid='stAlert']:has-text('Not started')"
    wait_for(lambda: len(jobs.list_jobs(tiny_ws, "finetune")) >= 2 or any(
        p.locator(failed).count() for p in pages), timeout=45, every=0.3)
    runs = {j.id: j for j in jobs.list_jobs(tiny_ws, "finetune")}
    # before core.hf.loading(), one session showed "ImportError: cannot import name
    # 'AutoConfig' from 'transformers'" here: two threads' first use of lazy transformers
    errors = [p.locator(failed).all_inner_texts() for p in pages]
    assert len(runs) == 2, errors
    ids = list(runs)
    for p in pages:  # each session was told its run was queued
        p.get_by_text(re.compile(r"Queued run \S+\.")).first.wait_for(state="attached",
                                                                      timeout=60_000)
    states = sorted(runs[i].state for i in ids)
    assert states in (["queued", "running"], ["queued", "queued"]), states  # one at a time
    pages[1].screenshot(path=str(_shot("fault-two-sessions")), full_page=True)
    first = next(i for i in ids if runs[i].state == "running") if "running" in states else ids[0]
    jobs.cancel(tiny_ws, first, grace_s=5)  # the queue moves on to the other run, not lost
    other = next(i for i in ids if i != first)
    wait_for(lambda: jobs.get(tiny_ws, other).state == "running", timeout=60, every=0.3)


def test_upload_on_the_data_page_during_a_run(tiny_ws, serve, browser, monkeypatch, tmp_path):
    monkeypatch.setenv("LADDER_FINETUNE_STEP_DELAY_S", "0.3")
    cfg = build_config("tiny", "toy", None, {**TINY, "max_steps": 400, "before_after": False})
    run_id = service.start(tiny_ws, cfg).run_id
    wait_for(lambda: (jobs.read_status(jobs.get(tiny_ws, run_id).run_dir).get("step") or 0) >= 1,
             timeout=90)
    _, url = serve()
    csv = tmp_path / "tickets-upload.csv"
    csv.write_text("text,label\n" + "".join(f"row {i} text,{'ab'[i % 2]}\n" for i in range(20)))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/data", timeout=60_000)
    page.get_by_text("Import a file").first.wait_for(timeout=60_000)
    page.get_by_text("Import a file").first.click()  # collapsed when a dataset exists
    page.locator(".st-key-data_upload input[type=file]").set_input_files(str(csv))
    page.get_by_text("20 rows, 2 columns").wait_for(timeout=60_000)
    step_before = jobs.read_status(jobs.get(tiny_ws, run_id).run_dir).get("step") or 0
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("Imported 'tickets-upload' version 1: 20 rows.").wait_for(timeout=60_000)
    page.screenshot(path=str(_shot("fault-upload-during-run")), full_page=True)
    from core import datasets

    assert "tickets-upload" in [d["name"] for d in datasets.list_datasets(tiny_ws)]
    run_dir = jobs.get(tiny_ws, run_id).run_dir
    wait_for(lambda: (jobs.read_status(run_dir).get("step") or 0) > step_before + 1, timeout=60)
    assert jobs.get(tiny_ws, run_id).state == "running"
