"""Page render time under load: five browser sessions at once, with and without a run training.

One `streamlit run` server on 127.0.0.1 over a fresh workspace (the sample data with its
split, the example prompt variants, a tiny Llama registered as a folder model), one headless
chromium, five pages driven concurrently (Playwright async). Each session visits home, data,
prompt_lab, compare and finetune in turn, ROUNDS times; a render is the time from `goto` to a
page-specific text being visible. Then the same while a fine-tune trains in the background.

The training run is on the TINY test model (LADDER_ALLOW_TINY=1, thousands of steps, no step
delay), so it keeps one worker process busy on the CPU for the whole measurement; a SmolLM2
run would load the CPU the same way, with fewer, longer steps.

    flock /tmp/ladder-heavy.lock .venv/bin/python bench/ui.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = [("", "Registered models"), ("data", "Quality report"), ("prompt_lab", "Variants"),
         ("compare", "New comparison"), ("finetune", "Compare runs")]
SESSIONS = 5


def prepare(home: Path) -> None:
    os.environ["LADDER_HOME"] = str(home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["LADDER_ALLOW_TINY"] = "1"
    from core import datasets
    from core.models.registry import build_spec
    from core.prompts import store as pstore
    from core.prompts.files import parse_prompts
    from core.workspace import open_workspace
    from tests.tiny import tiny_llama, tiny_tokenizer

    ws = open_workspace()
    folder = home / "tiny-model"
    tiny_llama(0).save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer(chat=True).save_pretrained(folder)
    ws.registry.add(build_spec(id="tiny", kind="folder", source=str(folder), hourly_cost=0.25))
    datasets.load_sample(ws)
    set_id = pstore.get_or_create_set(ws, "support-tickets prompts", "support-tickets")
    text = (ROOT / "examples" / "prompts.yaml").read_text()
    pstore.save_all(ws, set_id, parse_prompts(text, "examples/prompts.yaml"))


async def session(browser, url: str, rounds: int, out: list[tuple[str, float]]) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    for _ in range(rounds):
        for path, text in PAGES:
            t0 = time.perf_counter()
            await page.goto(f"{url}/{path}", timeout=120_000)
            await page.get_by_text(text).first.wait_for(timeout=120_000)
            out.append((path or "home", time.perf_counter() - t0))
    await page.close()


async def measure(url: str, rounds: int) -> list[tuple[str, float]]:
    from playwright.async_api import async_playwright

    from tests.browser.conftest import CHROMIUM, FLAGS

    out: list[tuple[str, float]] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        warm = await browser.new_page()
        for path, text in PAGES:  # first loads import plotly etc.: not measured
            await warm.goto(f"{url}/{path}", timeout=120_000)
            await warm.get_by_text(text).first.wait_for(timeout=120_000)
        await warm.close()
        await asyncio.gather(*(session(browser, url, rounds, out) for _ in range(SESSIONS)))
        await browser.close()
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def table(results: dict[str, list[tuple[str, float]]]) -> str:
    lines = ["| page | idle p50 s | idle p95 s | training p50 s | training p95 s |",
             "|---|---|---|---|---|"]
    names = [p or "home" for p, _ in PAGES] + ["all pages"]
    for name in names:
        cells = []
        for phase in ("idle", "training"):
            xs = [t for n, t in results[phase] if name in (n, "all pages")]
            cells += [f"{statistics.median(xs):.2f}", f"{pct(xs, 0.95):.2f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="visits of each page per session")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ladder-ui-bench-") as tmp:
        home = Path(tmp) / "ws"
        (home / "_home").mkdir(parents=True)
        prepare(home)
        os.environ["HOME"] = str(home / "_home")  # chromium writes under HOME
        from core import jobs
        from core.finetune import build_config, service
        from core.workspace import open_workspace
        from tests.browser.conftest import free_port, start_server

        ws = open_workspace()
        port = free_port()
        proc = start_server(home, port, {"LADDER_ALLOW_TINY": "1"})
        url = f"http://127.0.0.1:{port}"
        results: dict[str, list[tuple[str, float]]] = {}
        run_id = None
        try:
            results["idle"] = asyncio.run(measure(url, args.rounds))
            cfg = build_config("tiny", "support-tickets", "quick",
                               {"max_steps": 100_000, "eval_every": 500, "before_after": False})
            run_id = service.start(ws, cfg).run_id
            deadline = time.time() + 120
            while (jobs.read_status(jobs.get(ws, run_id).run_dir).get("step") or 0) < 1:
                if time.time() > deadline or jobs.get(ws, run_id).final:
                    raise RuntimeError("the background run did not start training: "
                                       + jobs.read_log_tail(jobs.get(ws, run_id).run_dir))
                time.sleep(0.5)
            step0 = jobs.read_status(jobs.get(ws, run_id).run_dir).get("step") or 0
            t0 = time.time()
            results["training"] = asyncio.run(measure(url, args.rounds))
            steps = (jobs.read_status(jobs.get(ws, run_id).run_dir).get("step") or 0) - step0
            rate = steps / (time.time() - t0)
        finally:
            if run_id:
                jobs.cancel(ws, run_id, grace_s=5)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except Exception:  # noqa: BLE001
                proc.kill()
    n = len(results["idle"])
    body = (f"{SESSIONS} concurrent chromium sessions (one browser, Playwright async) against one "
            f"`streamlit run` server; each session visits 5 pages x {args.rounds} rounds "
            f"({n} renders per phase). Render = `goto` until a page-specific text is visible. "
            "Training phase: a fine-tune of the tiny test model (LADDER_ALLOW_TINY=1) running in "
            f"the background worker the whole time ({rate:.1f} steps/s while the pages were "
            "being served).\n\n" + table(results))
    print(body)
    from bench._results import write_section

    write_section("UI under load (issue 8)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
