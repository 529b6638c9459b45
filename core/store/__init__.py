"""SQLite state in the workspace: connection, migrations, busy handling.

One module owns the database so a server database could replace it later.
WAL mode lets the dashboard read while a worker writes; a busy database is
retried by SQLite itself (busy_timeout) and then reported as a clear error.
"""

from core.store.db import Database, StoreError, open_db

__all__ = ["Database", "StoreError", "open_db"]
