"""The whole ladder in headless chromium against `streamlit run` on 127.0.0.1.

Sample data from Home -> quality report -> a one-click fix -> split -> Prompt Lab variants run
-> sample knowledge base + static vs dynamic -> a Quick fine-tune watched to the end -> a model
comparison -> the Markdown report downloaded from Home. A tiny Llama registered as a `folder`
model (LADDER_ALLOW_TINY=1) stands in for the packaged models so the walk takes about two
minutes on two cores. Every step leaves a screenshot in test-artifacts/walkthrough/.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, free_port, start_server

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "walkthrough"
LONG = 180_000  # ms: background jobs on a loaded 2-core machine


def register_tiny(ws, folder: Path, model_id: str = "tiny") -> str:
    """A tiny Llama with a chat template, saved as safetensors, registered as a folder model;
    a 2,048-token context, so the sample tickets' few-shot prompts fit it."""
    from core.models.registry import build_spec
    from tests.tiny import tiny_llama, tiny_tokenizer

    tiny_llama(seed=0, context=2048).save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer(chat=True).save_pretrained(folder)
    ws.registry.add(build_spec(id=model_id, kind="folder", source=str(folder), hourly_cost=0.25))
    return model_id


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def goto(page, url: str, text: str, timeout: int = 60_000) -> None:
    page.goto(url, timeout=timeout)
    page.get_by_text(text).first.wait_for(timeout=timeout)


def no_exception(page, where: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, f"error on {where}"


class Shots:
    def __init__(self, page):
        self.page, self.n = page, 0
        SHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.n += 1
        no_exception(self.page, name)
        self.page.wait_for_timeout(300)  # let the last delta paint
        self.page.screenshot(path=str(SHOTS / f"{self.n:02d}-{name}.png"), full_page=True)


def choose(page, key: str, option: str, tries: int = 5) -> None:
    """Pick `option` in the selectbox or multiselect with widget key `key`.

    A rerun that lands between the click and the pick closes the list: retry, bounded.
    """
    box = page.locator(f".st-key-{key} input").first
    for _ in range(tries):
        box.click()
        opt = page.get_by_role("option", name=option, exact=True).first
        try:
            opt.wait_for(timeout=5_000)
            opt.click()
            return
        except Exception:  # noqa: BLE001 - the list closed under us; try again
            page.keyboard.press("Escape")
    raise AssertionError(f"could not choose {option!r} in {key}")


def settle(page, timeout: int = 60_000) -> None:
    """Wait until no script run is in flight (Streamlit shows its status widget meanwhile)."""
    page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=timeout)


def tab(page, name: str, tries: int = 5) -> None:
    """Open the tab `name` and wait until it is the selected one once the page is idle.

    A click that lands while a rerun is in flight can be undone when that run redraws the
    tabs: click again, bounded.
    """
    t = page.get_by_role("tab", name=re.compile(rf"^{re.escape(name)}")).first
    for _ in range(tries):
        settle(page)
        t.click()
        settle(page)
        if t.get_attribute("aria-selected") == "true":
            return
    raise AssertionError(f"the tab {name!r} did not stay selected")


def wait_cells_done(page, timeout: int = LONG) -> None:
    page.get_by_text(re.compile(r"(\d+)/\1 cells · succeeded")).first.wait_for(timeout=timeout)


@pytest.fixture
def walk_server(ws, tmp_path):
    register_tiny(ws, tmp_path / "tiny-model")
    port = free_port()
    proc = start_server(Path(ws.settings.root), port, {"LADDER_ALLOW_TINY": "1"})
    yield f"http://127.0.0.1:{port}"
    stop(proc)
    from core import jobs

    for job in jobs.list_jobs(ws):  # leave no worker behind
        if job.state in ("queued", "running"):
            jobs.cancel(ws, job.id, grace_s=5)


def test_whole_ladder_walkthrough(walk_server, browser, ws):
    url = walk_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(60_000)
    shot = Shots(page)

    # 1. Home: load the sample data
    goto(page, url, "The four rungs")
    page.get_by_role("button", name="Load the sample data").click()
    page.get_by_text("Sample data ready").wait_for()
    shot("home-sample-loaded")

    # 2. Data: quality report, a one-click fix, a split
    goto(page, f"{url}/data", "Quality report")
    page.get_by_role("button", name="Run quality report").click()
    page.get_by_text("One-click fixes").wait_for(timeout=LONG)
    page.get_by_text("Near-duplicate pairs (").first.wait_for()
    shot("data-quality-report")
    page.get_by_role("button", name="Drop exact duplicates").click()
    page.get_by_text(re.compile(r"Saved version 2 \(")).wait_for(timeout=LONG)
    shot("data-fix-applied")
    tab(page, "Split")
    page.get_by_role("button", name="Make split").click()
    page.get_by_text("Split saved with version 2").wait_for(timeout=LONG)
    page.get_by_text("Saved split: validation 0.1").wait_for()
    shot("data-split")

    # 3. Prompt Lab: the example variants, run on the tiny model
    goto(page, f"{url}/prompt_lab", "1 · Prompt Lab")
    page.get_by_role("button", name="Add the example variants").click()
    page.get_by_text("few-shot").first.wait_for()
    shot("prompt-lab-variants")
    tab(page, "Run")
    choose(page, "pl_model", "tiny")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"Run #\d+ started")).wait_for(timeout=LONG)
    tab(page, "Results")
    wait_cells_done(page)
    shot("prompt-lab-results")

    # 4. Dynamic prompts: the sample knowledge base, static vs dynamic on the tiny model
    goto(page, f"{url}/dynamic", "Knowledge bases")
    page.get_by_role("button", name="Load the sample knowledge base").click()
    page.get_by_text(re.compile(r"help-center: \d+ chunks added")).wait_for(timeout=LONG)
    shot("dynamic-knowledge-base")
    choose(page, "dv_model", "tiny")
    page.get_by_role("button", name="Run static vs dynamic").click()
    page.get_by_text(re.compile(r"Run #\d+ started")).wait_for(timeout=LONG)
    wait_cells_done(page)
    page.get_by_text("Difference from the static prompt").wait_for(timeout=LONG)
    shot("dynamic-vs-static")

    # 5. Fine-tuning: a Quick run on the tiny model, watched to the end
    goto(page, f"{url}/finetune", "New run")
    choose(page, "ft_model", "tiny")
    # the Quick preset, cut to 10 steps in Advanced (its 5-minute budget would dominate the suite)
    page.get_by_text("Advanced: every setting").click()
    steps = page.get_by_role("spinbutton", name="max_steps", exact=True)
    steps.fill("10")
    steps.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start run").click()
    flash = page.get_by_text(re.compile(r"Queued run \S+\."))
    flash.wait_for(timeout=LONG)
    run_id = re.search(r"Queued run (\S+)\.", flash.inner_text()).group(1)
    from core import jobs

    config = json.loads((jobs.get(ws, run_id).run_dir / "config.json").read_text())
    assert (config["preset"], config["max_steps"]) == ("quick", 10)
    shot("finetune-started")
    tab(page, "Runs")
    page.get_by_text(re.compile(r"step \d+ of \d+")).first.wait_for(timeout=LONG)
    shot("finetune-live")
    # the page reruns when the run ends and keeps the Runs tab the user chose
    page.get_by_text(f"{run_id}: succeeded").wait_for(timeout=LONG)
    page.get_by_text("Before / after on the test split").wait_for(timeout=LONG)
    shot("finetune-finished")

    # 6. Model comparison: the base and its fine-tuned adapter
    goto(page, f"{url}/compare", "3 · Model comparison")
    page.get_by_text("New comparison").first.click()  # collapsed once the dataset has runs
    tags = page.locator(".st-key-cmp_models [data-tag]")
    tags.first.wait_for()
    for _ in range(10):  # the defaults are the two built-in models: take them off
        if tags.count() == 0:
            break
        name = tags.first.get_attribute("aria-label")
        page.get_by_role("button", name=f"Remove {name}", exact=True).first.click()
        page.wait_for_timeout(300)  # the rerun redraws the widget
    assert tags.count() == 0
    # on a classification dataset the default Quick trains the MiniLM encoder as the classifier
    for m in ("tiny", f"minilm-l6+{run_id}"):
        choose(page, "cmp_models", m)
    page.get_by_text("reads each row's input (no prompt)").first.wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_text(re.compile(r"Comparison run #\d+ started")).wait_for(timeout=LONG)
    wait_cells_done(page)
    page.get_by_text("Where the models disagree").wait_for(timeout=LONG)
    shot("compare-results")

    # 7. Home: every rung reported; the Markdown report downloads
    goto(page, url, "Decision report")
    page.get_by_text("Recommendation.").first.wait_for()
    shot("home-decision-report")
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Report (Markdown)").click()
    text = Path(dl.value.path()).read_text()
    assert dl.value.suggested_filename == "ladder-report.md"
    assert "support-tickets" in text and "tiny" in text
    for heading in ("Prompt", "Dynamic", "comparison", "Fine-tun"):
        assert heading.lower() in text.lower(), heading
