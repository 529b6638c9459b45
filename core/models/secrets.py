"""API keys: read from the environment or `.streamlit/secrets.toml`, never stored.

Only the *name* of the variable is saved in the registry; the value is looked
up at call time and never written to the database, logs or reports.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


def secrets_files() -> list[Path]:
    return [Path.cwd() / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]


def resolve_key(name: str | None) -> str | None:
    """The key held by environment variable `name`, else by that key in secrets.toml."""
    if not name:
        return None
    value = os.environ.get(name)
    if value:
        return value
    for path in secrets_files():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        v = data.get(name)
        if isinstance(v, str) and v:
            return v
    return None
