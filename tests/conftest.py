"""Test-wide setup: every test gets its own workspace; models are cached once per machine.

The packaged GGUF models are converted to safetensors on first use (about 25 s for
SmolLM2); that cache lives in `.test-cache/models` and is shared by all tests and
later runs, while databases and runs stay in each test's own `tmp_path`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL_CACHE = ROOT / ".test-cache" / "models"
_SCRIPT = Path(sys.executable).parent / "ladder"
# The installed console script when there is one (it is what users run), else the module.
LADDER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "core.cli"]

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The precision the suite runs at: LADDER_DTYPE and LADDER_EMBED_BACKEND set where pytest
# starts are kept for every test (how `make test` re-runs the `precision` tests with bf16 and
# with fp32 forced, so one kind of CPU catches what the other would); unset, each machine
# picks its own (bf16 and torch on a CPU with native bf16, fp32 and ONNX elsewhere).
FORCED = {k: os.environ[k] for k in ("LADDER_DTYPE", "LADDER_EMBED_BACKEND") if os.environ.get(k)}


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("LADDER_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LADDER_MODEL_CACHE_DIR", str(MODEL_CACHE))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("LADDER_DEVICE", "LADDER_DTYPE", "LADDER_EMBED_BACKEND", "LADDER_CHROMA_URL",
                "LADDER_HF_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in FORCED.items():
        monkeypatch.setenv(var, value)
    yield


@pytest.fixture
def ws():
    from core.workspace import open_workspace

    return open_workspace()


def open_app(page: str | None = None, timeout: float = 60):
    """The dashboard through its router (app.py) in AppTest, switched to `page` if given."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def wait_for_eval_run(ws, run_id: int, timeout_s: float = 120) -> str:
    """Poll a background evaluation run until it ends (bounded); return its status."""
    import time

    from core.evals.store import get_run

    deadline = time.time() + timeout_s
    while get_run(ws, run_id)["status"] not in ("done", "failed") and time.time() < deadline:
        time.sleep(0.5)
    return get_run(ws, run_id)["status"]


def wait_for(pred, timeout: float = 60, every: float = 0.1):
    """Poll `pred` until it returns something truthy; fail after `timeout` seconds."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"condition not met in {timeout} s")
