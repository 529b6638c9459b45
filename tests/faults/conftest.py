"""Fixtures for the fault, bad-input and security tests: reused from the other test folders."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from tests.browser.conftest import browser  # noqa: F401 - fixture
from tests.conftest import wait_for  # noqa: F401 - shared by the fault tests
from tests.finetune.conftest import tiny_model_dir, tiny_ws  # noqa: F401 - fixtures


def snapshot(root: Path) -> str:
    """A hash of the workspace: every file's name and bytes, and every row of the database.

    The SQLite files (`ladder.db`, and its `-wal`/`-shm` files, which SQLite creates and
    removes as connections open and close) are left out by name and the database is compared
    by content (`iterdump` of all tables), since WAL checkpoints rewrite pages without
    changing any row.
    """
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.name.startswith("ladder.db"):
            continue
        h.update(p.relative_to(root).as_posix().encode())
        if p.is_file():
            h.update(p.read_bytes())
    db = root / "ladder.db"
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for line in conn.iterdump():
                h.update(line.encode())
        finally:
            conn.close()
    return h.hexdigest()
