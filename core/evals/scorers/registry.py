"""The scorer registry: one entry per scorer, and the one entry point that scores outputs.

Each `ScorerInfo` names a scorer, its function, its direction, the `ScorerConfig`
fields it reads (with help) and the tasks it suits; the CLI's `--scorer` choices,
the Prompt Lab picker, `ScorerConfig` validation and fine-tuning's early stopping
all read it. The built-in scorers are registered in `catalog.py`.

A scorer function is either per row, `fn(output, references, ctx) -> Scored`, or
per batch (`batch=True`), `fn(outputs, references, ctx) -> list[Scored]` for scorers
that embed or call a model. `references` are the row's reference answers (several
when the split holds the same input more than once); `ctx` is a `Context`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.evals.scorers.base import LOOPING, Scored, looks_looping

# The scorer settings (core.evals.scorers.config.ScorerConfig). That module validates a
# scorer's name against this registry, so this one names its type without importing it.
ScorerConfig = Any

TASKS = ("classification", "scale", "free_text")


@dataclass
class Context:
    """What a scorer may read besides the output and references."""

    config: ScorerConfig
    labels: list[str] = field(default_factory=list)
    inputs: list[str] | None = None
    ws: Any = None


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    help: str
    direction: str  # "max": higher is better, "min": lower is better
    tasks: tuple[str, ...]
    params: dict[str, str]  # ScorerConfig field -> what it does for this scorer
    fn: Callable = field(repr=False, compare=False)
    batch: bool = False
    needs_reference: bool = True
    target_check: Callable[[str], bool] | None = field(default=None, repr=False)
    target_kind: str = ""  # what target_check accepts, e.g. "JSON objects"
    corpus: Callable[[list[str], list[list[str]]], dict] | None = field(default=None, repr=False)
    beside: tuple[str, ...] = ()  # scorers whose mean is shown next to this one's


_SCORERS: dict[str, ScorerInfo] = {}


def register(name: str, fn: Callable, *, help: str, tasks: tuple[str, ...],  # noqa: A002
             direction: str = "max", params: dict[str, str] | None = None, batch: bool = False,
             needs_reference: bool = True, target_check: Callable[[str], bool] | None = None,
             target_kind: str = "", corpus: Callable | None = None,
             beside: tuple[str, ...] = ()) -> ScorerInfo:
    """Add a scorer (or replace one of the same name); returns its entry."""
    if direction not in ("max", "min"):
        raise ValueError(f"direction must be 'max' or 'min', not '{direction}'")
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task {unknown[0]!r}; tasks are {', '.join(TASKS)}")
    info = ScorerInfo(name, help, direction, tuple(tasks), dict(params or {}), fn, batch,
                      needs_reference, target_check, target_kind, corpus, tuple(beside))
    _SCORERS[name] = info
    return info


def get(name: str) -> ScorerInfo:
    """The registered scorer `name`; ValueError listing the choices when there is none."""
    try:
        return _SCORERS[name]
    except KeyError:
        raise ValueError(f"unknown scorer '{name}'; choose one of "
                         f"{', '.join(['auto', *_SCORERS])}") from None


def names(task: str | None = None) -> list[str]:
    """Registered scorers in registration order; with `task`, those that suit it."""
    return [n for n, i in _SCORERS.items() if task is None or task in i.tasks]


def _rows(targets) -> list[list[str]]:
    return [[t] if isinstance(t, str) else list(t) for t in targets]


def validate_targets(kind: str, targets) -> None:
    """Raise ValueError when `kind` cannot score these targets (each a str or a list of
    references): an empty reference, or a target of the wrong shape (json_fields on text)."""
    info = get(kind)
    rows = _rows(targets)
    if info.needs_reference:
        empty = sum(1 for refs in rows if not refs or any(not (r or "").strip() for r in refs))
        if empty:
            raise ValueError(f"{empty} of {len(rows)} rows have an empty reference; the {kind} "
                             "scorer compares each output with its reference: drop those rows "
                             "or fill in their targets.")
    if info.target_check is not None:
        bad = [r for refs in rows for r in refs if (r or "").strip() and not info.target_check(r)]
        if bad:
            total = sum(len(refs) for refs in rows)
            raise ValueError(f"{len(bad)} of {total} targets are not {info.target_kind} (e.g. "
                             f"{bad[0][:60]!r}); the {kind} scorer needs {info.target_kind} as "
                             "targets: fix those rows or choose another scorer (e.g. chrf).")


def score_outputs(kind: str, outputs: list[str], references: list[list[str]], *,
                  config: ScorerConfig, labels: list[str] | None = None,
                  inputs: list[str] | None = None, ws=None) -> list[Scored]:
    """Score each output against its references with scorer `kind` (not "auto": resolve it
    with `ScorerConfig.resolved` first). An output that loops keeps its score and gets the
    error kind `looping`. Raises ValueError on unusable targets (see `validate_targets`)."""
    info = get(kind)
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs but {len(references)} reference lists")
    refs = _rows(references)
    validate_targets(kind, refs)
    outs = ["" if o is None else str(o) for o in outputs]
    ctx = Context(config=config, labels=list(labels or []), inputs=inputs, ws=ws)
    if info.batch:
        scored = list(info.fn(outs, refs, ctx))
    else:
        scored = [info.fn(o, r, ctx) for o, r in zip(outs, refs, strict=True)]
    for o, s in zip(outs, scored, strict=True):
        if s.error_kind is None and looks_looping(o):
            s.error_kind = LOOPING
    return scored


def corpus_score(kind: str, outputs: list[str], references: list[list[str]]) -> dict | None:
    """Corpus-level scores of `kind` (e.g. {"corpus_bleu": 23.8}, sacrebleu's 0-100 scale),
    or None when the scorer has none."""
    info = get(kind)
    if info.corpus is None or not outputs:
        return None
    return info.corpus(["" if o is None else str(o) for o in outputs], _rows(references))
