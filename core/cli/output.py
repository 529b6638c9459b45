"""What every subcommand shares: its error type and how it prints a result."""

from __future__ import annotations

import json
import sys

from core.errors import LadderError


class CliError(LadderError):
    """A user-facing error; exit code 2 for usage problems, 1 otherwise."""


def emit(data, as_json: bool, text: str | None = None) -> None:
    """One JSON document on stdout with `--json`, else the human-readable `text`."""
    if as_json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif text is not None:
        print(text)
