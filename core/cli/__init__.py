"""The `ladder` command: the same core as the dashboard, for scripts and automation.

Every subcommand prints human-readable text, or one JSON document on stdout
with `--json`. Errors go to stderr as one message with a non-zero exit code;
a traceback is shown only with LADDER_DEBUG=1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from core.cli import compare as compare_cmd
from core.cli import data as data_cmd
from core.cli import eval as eval_cmd
from core.cli import finetune as finetune_cmd
from core.cli import kb as kb_cmd
from core.cli import models as models_cmd


class CliError(Exception):
    """A user-facing error; exit code 2 for usage problems, 1 otherwise."""


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


def emit(data, as_json: bool, text: str | None = None) -> None:
    if as_json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif text is not None:
        print(text)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("ladder: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the edge: turn every error into one message
        if os.environ.get("LADDER_DEBUG") == "1":
            raise
        known = _known_errors()
        if isinstance(e, known):
            print(f"ladder: error: {e}", file=sys.stderr)
            return 1
        print(
            f"ladder: unexpected error: {type(e).__name__}: {e}. "
            "Run again with LADDER_DEBUG=1 for details and report it.",
            file=sys.stderr,
        )
        return 1


def _known_errors() -> tuple[type[Exception], ...]:
    from pydantic import ValidationError

    from core.compare.service import CompareError
    from core.datasets.errors import DatasetError
    from core.embeddings import EmbeddingError
    from core.evals.engine import EvalError
    from core.finetune.config import FinetuneError
    from core.jobs.runner import JobError
    from core.models.base import ModelError
    from core.prompts.files import PromptsFileError
    from core.prompts.template import TemplateError
    from core.retrieval.errors import RetrievalError
    from core.store import StoreError

    return (
        CliError,
        ModelError,
        StoreError,
        DatasetError,
        EmbeddingError,
        EvalError,
        CompareError,
        ValidationError,
        PromptsFileError,
        TemplateError,
        FinetuneError,
        JobError,
        RetrievalError,
        OSError,
    )


if __name__ == "__main__":
    sys.exit(main())
