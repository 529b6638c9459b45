"""The SQLite database: one file in the workspace, WAL, versioned migrations.

Each connection is short-lived (opened per unit of work) so Streamlit's script
threads, the CLI and worker processes never share a handle. Migrations are
plain SQL steps applied once, in order, their names recorded in `_migrations`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import LadderError
from core.store.migrations import MIGRATIONS


class StoreError(LadderError):
    """The database could not be used; the message says why and what to do."""


class Database:
    def __init__(self, path: Path, busy_timeout_s: float = 10.0, retries: int = 3):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.retries = retries

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction, committed on success.

        A locked database is retried a few times (on top of SQLite's own busy
        timeout) and then reported as a `StoreError` instead of a traceback.
        """
        for attempt in range(self.retries + 1):
            conn = self._open()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as e:
                _rollback(conn)
                if "locked" in str(e) or "busy" in str(e):
                    if attempt < self.retries:
                        time.sleep(0.2 * (attempt + 1))
                        continue
                    raise StoreError(
                        f"The database {self.path} is busy (locked by another process) "
                        "and stayed locked after retries. Wait for the other program to "
                        "finish (a training run or another `ladder` command), then try again."
                    ) from e
                raise
            except BaseException:
                _rollback(conn)
                raise
            finally:
                conn.close()

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self.connect() as c:
            return c.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple | dict = ()) -> int:
        with self.connect() as c:
            return c.execute(sql, params).rowcount

    def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied now."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._open()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        applied_now = []
        with self.connect() as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS _migrations ("
                " name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            done = {r["name"] for r in c.execute("SELECT name FROM _migrations")}
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                for statement in sql.split(";\n"):
                    if statement.strip():
                        c.execute(statement)
                c.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    (name, time.time()),
                )
                applied_now.append(name)
        return applied_now

    def applied_migrations(self) -> list[str]:
        return [r["name"] for r in self.query("SELECT name FROM _migrations ORDER BY rowid")]


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def open_db(path: Path) -> Database:
    """Open the workspace database, creating and migrating it as needed."""
    db = Database(path)
    try:
        db.migrate()
    except sqlite3.DatabaseError as e:
        raise StoreError(
            f"{path} is not a usable Tuning Ladder database ({e}). Move it aside "
            "or point LADDER_HOME at another workspace folder."
        ) from e
    return db
