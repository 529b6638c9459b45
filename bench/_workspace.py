"""A fresh workspace for one benchmark, and `ladder ... --json` run in this process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scratch_workspace(prefix: str) -> Path:
    """A new folder whose ws/ becomes LADDER_HOME (the shared model cache is kept)."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["LADDER_HOME"] = str(scratch / "ws")
    os.environ.setdefault("LADDER_MODEL_CACHE_DIR", str(ROOT / ".test-cache" / "models"))
    return scratch


def ladder_json(*argv) -> dict:
    """`ladder ARGV --json`, parsed; a failed command ends the benchmark with its exit code."""
    from core.cli import main as ladder

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = ladder([*argv, "--json"])
    if code != 0:
        raise SystemExit(f"ladder {' '.join(argv)} failed ({code})")
    return json.loads(out.getvalue())
