"""Argument types shared by the `ladder` subcommands: a bad value is a one-line usage error."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return v


def non_negative_float(text: str) -> float:
    v = _number(text, "0.15")
    if v < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be a non-negative number")
    return v


def positive_float(text: str) -> float:
    v = _number(text, "50000")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive number")
    return v


def _number(text: str, example: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number; give e.g. {example}") from None
    if math.isnan(v) or math.isinf(v):
        raise argparse.ArgumentTypeError(f"'{text}' must be a finite number, e.g. {example}")
    return v


def workspace():
    """The workspace named by LADDER_HOME (imported late: `ladder --help` stays fast)."""
    from core.workspace import open_workspace

    return open_workspace()


def variant_from_file(path: str, name: str):
    """The variant `name` of the prompts file `path`; a missing one is a CliError naming the
    variants the file has."""
    from core.cli.output import CliError
    from core.prompts.files import load_prompts

    variants = load_prompts(path)
    chosen = next((v for v in variants if v.name == name), None)
    if chosen is None:
        raise CliError(f"{path} has no variant '{name}'; its variants: "
                       f"{', '.join(v.name for v in variants)}.")
    return chosen
