"""The `ladder` command: the same core as the dashboard, for scripts and automation.

Every subcommand prints human-readable text, or one JSON document on stdout
with `--json`. Errors go to stderr as one message with a non-zero exit code;
a traceback is shown only with LADDER_DEBUG=1.
"""

from __future__ import annotations

import argparse
import os
import sys

from core.cli import compare as compare_cmd
from core.cli import data as data_cmd
from core.cli import eval as eval_cmd
from core.cli import finetune as finetune_cmd
from core.cli import kb as kb_cmd
from core.cli import models as models_cmd
from core.cli.output import CliError, emit  # noqa: F401  (the public names of the CLI)
from core.errors import LadderError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits 2; keep it one line
        self.exit(2, f"ladder: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ladder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    models_cmd.register(sub)
    data_cmd.register(sub)
    finetune_cmd.register(sub)
    eval_cmd.register(sub)
    compare_cmd.register(sub)
    kb_cmd.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from core.settings import read_settings

    try:  # a bad LADDER_* value: one line, whatever the command (--help included)
        read_settings()
    except LadderError as e:
        print(f"ladder: error: {e}", file=sys.stderr)
        return 1
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        if not _stdout_closed():  # a broken socket elsewhere is an ordinary error
            return _report(sys.exc_info()[1])
        return _closed_pipe()
    except KeyboardInterrupt:
        print("ladder: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the edge: turn every error into one message
        if os.environ.get("LADDER_DEBUG") == "1":
            raise
        return _report(e)


def _report(e: BaseException) -> int:
    if isinstance(e, _known_errors()):
        print(f"ladder: error: {e}", file=sys.stderr)
        return 1
    print(
        f"ladder: unexpected error: {type(e).__name__}: {e}. "
        "Run again with LADDER_DEBUG=1 for details and report it.",
        file=sys.stderr,
    )
    return 1


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _closed_pipe() -> int:
    """The reader of stdout went away (`ladder ... --json | head`): stop quietly, as Unix tools
    do. Stdout now points at /dev/null so Python's flush at exit has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by a closed pipe


def _known_errors() -> tuple[type[Exception], ...]:
    """Errors whose message is meant for the user: every LadderError, and a settings model's
    validation error (one line per field)."""
    from pydantic import ValidationError

    return LadderError, ValidationError
