"""The SQLite store: migrations recorded once, WAL, a locked database reported clearly."""

from __future__ import annotations

import sqlite3

import pytest

from core.store import StoreError, open_db
from core.store.migrations import MIGRATIONS


def test_migrations_apply_once_and_are_recorded(tmp_path):
    db = open_db(tmp_path / "a.db")
    assert db.applied_migrations() == [name for name, _ in MIGRATIONS]
    assert db.migrate() == []  # idempotent
    mode = sqlite3.connect(tmp_path / "a.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable Tuning Ladder database"):
        open_db(bad)


def test_locked_database_is_retried_then_reported(tmp_path):
    db = open_db(tmp_path / "a.db")
    db.busy_timeout_s = 0.05
    db.retries = 1
    holder = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="busy"):
            db.execute("INSERT INTO model_usage (model_id, at, input_tokens, output_tokens,"
                       " latency_s) VALUES ('m', 0, 1, 1, 0.1)")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert db.execute("INSERT INTO model_usage (model_id, at, input_tokens, output_tokens,"
                      " latency_s) VALUES ('m', 0, 1, 1, 0.1)") == 1


def test_failed_transaction_rolls_back(tmp_path):
    db = open_db(tmp_path / "a.db")
    with pytest.raises(ZeroDivisionError), db.connect() as c:
        c.execute("INSERT INTO model_usage (model_id, at, input_tokens, output_tokens,"
                  " latency_s) VALUES ('m', 0, 1, 1, 0.1)")
        1 / 0  # noqa: B018
    assert db.query("SELECT COUNT(*) AS n FROM model_usage")[0]["n"] == 0
