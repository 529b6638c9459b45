"""Fixtures for the dataset tests: a workspace in tmp_path, a workspace snapshot, files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "support_tickets.csv"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A fresh, migrated workspace under tmp_path (LADDER_HOME points at it)."""
    monkeypatch.setenv("LADDER_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from core.workspace import open_workspace

    return open_workspace()


from tests.faults.conftest import snapshot  # noqa: E402,F401  (one workspace hash for all tests)


@pytest.fixture
def write(tmp_path):
    """write(name, content) -> path of a file in tmp_path/files (bytes or text)."""
    folder = tmp_path / "files"
    folder.mkdir()

    def _write(name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
        p = folder / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return p

    return _write
