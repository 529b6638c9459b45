"""What the CLI and the Data page call: import, report, split, fix, export, on a workspace.

Each function takes the workspace and a dataset name (optionally a version
number; the latest by default), does every check first and writes last, so a
`DatasetError` leaves the workspace as it was.

Trade-off: one thin layer over the modules beside it instead of methods on a
dataset object; the page and the CLI stay one call per action, and the pieces
(readers, quality, splits) stay testable without a workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.datasets import export as export_mod
from core.datasets import versions as store
from core.datasets.conflicts import CHOICES as CONFLICT_CHOICES
from core.datasets.conflicts import conflict_groups, rows_to_drop, split_by_test
from core.datasets.errors import DatasetError
from core.datasets.given_splits import combine, from_column
from core.datasets.quality import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_THRESHOLD,
    Progress,
    duplicate_rows,
    leaking_train_rows,
    quality_report,
)
from core.datasets.readers import Table, read_table
from core.datasets.schema import TASKS, Mapping, TaskGuess, guess_task, unlabelled, validate_mapping
from core.datasets.splits import carry_split, make_split
from core.datasets.text import normalise
from core.datasets.versions import SPLITS, Version

SAMPLE_CSV = Path(__file__).resolve().parents[2] / "examples" / "support_tickets.csv"
SAMPLE_NAME = "support-tickets"


@dataclass
class ImportResult:
    version: Version
    created: bool
    table: Table | None = None
    guess: TaskGuess | None = None  # what the targets' shape suggests, and why


@dataclass
class FixResult:
    version: Version
    created: bool
    removed: dict = field(default_factory=dict)
    parent: Version | None = None
    left_in_test: dict = field(default_factory=dict)  # rows a fix left in the given test file


def read(ws, source, filename: str | None = None, *, sheet: str | None = None,
         encoding: str | None = None) -> Table:
    """Parse a file (path or uploaded bytes) within the workspace's size and row limits;
    `sheet` and `encoding` as in core.datasets.readers.read_table."""
    return read_table(source, filename, max_mb=ws.settings.max_upload_mb,
                      max_rows=ws.settings.max_rows, sheet=sheet, encoding=encoding)


def make_mapping(frame: pd.DataFrame, input_col: str, target_col: str,
                 context_col: str | None = None, task: str | None = None,
                 name: str = "the file", unlabelled: bool = False) -> Mapping:
    """A validated mapping; the task is inferred from the target column when not given.

    `unlabelled`: the rows need not have labels yet (a teacher model can label them); a
    target column the file lacks is added to `frame`, empty.
    """
    if unlabelled and target_col not in frame.columns:
        if not str(target_col).strip():
            raise DatasetError("name the target column to create for the labels, e.g. label.")
        frame[target_col] = ""
    if target_col in frame.columns and task is None:
        task = guess_task(frame[target_col]).task
    mapping = Mapping(input_col=input_col, target_col=target_col, context_col=context_col or None,
                      task=task or "classification")
    validate_mapping(frame, mapping, name, allow_unlabelled=unlabelled)
    return mapping


def import_table(ws, table: Table, name: str, mapping: Mapping, *, test: Table | None = None,
                 validation: Table | None = None, split_col: str | None = None,
                 unlabelled: bool = False) -> ImportResult:
    """Store a parsed table as a version; with a test/validation table or a split column the
    version keeps those splits as given, and its split is saved at once (the missing
    validation or test part cut from the train rows: 10%, seed 0; re-cut with `split`)."""
    store.check_name(name)
    given = None
    if split_col and (test is not None or validation is not None):
        raise DatasetError("give either a split column or separate test/validation files, "
                           "not both.")
    if split_col:
        if split_col in mapping.columns():
            raise DatasetError(f"the split column '{split_col}' is also the input, target or "
                               "context column; name the column that says train, validation "
                               "or test.")
        given = from_column(table.frame, split_col, table.filename)
    elif test is not None or validation is not None:
        table, given = combine(table, test, validation, ws.settings.max_rows)
    version, created = store.save_version(ws, name, table.frame, mapping,
                                          source=f"import: {table.filename}", given=given,
                                          allow_unlabelled=unlabelled)
    if given is not None and store.get_split(ws, version) is None:
        split(ws, name, 0.1, 0.1, 0, version.number)
    return ImportResult(version, created, table)


def import_file(ws, source, *, name: str, input_col: str, target_col: str,
                context_col: str | None = None, task: str | None = None,
                filename: str | None = None, test_file=None, validation_file=None,
                split_col: str | None = None, unlabelled: bool = False,
                sheet: str | None = None, encoding: str | None = None) -> ImportResult:
    """Read, map, validate and store a file as a new version (a no-op for known content).

    `sheet`: the workbook sheet (required when several hold data); `encoding`: the text
    encoding of the file and of the given test and validation files, instead of detecting it.

    `test_file` / `validation_file` (paths) are the dataset's own test and validation
    splits; `split_col` names a column that gives each row's split instead. `unlabelled`:
    the target may be missing (created empty) or empty in every row; label it with
    `core.labelling`.
    """
    store.check_name(name)
    table = read(ws, source, filename, sheet=sheet, encoding=encoding)
    guess = (guess_task(table.frame[target_col], RETASK_HINT.format(name=name))
             if target_col in table.frame.columns else None)
    mapping = make_mapping(table.frame, input_col, target_col, context_col,
                           task or (guess.task if guess else None), table.filename, unlabelled)
    test = read(ws, test_file, encoding=encoding) if test_file is not None else None
    validation = (read(ws, validation_file, encoding=encoding) if validation_file is not None
                  else None)
    if unlabelled:
        for extra in (test, validation):
            if extra is not None and target_col not in extra.frame.columns:
                extra.frame[target_col] = ""
    res = import_table(ws, table, name, mapping, test=test, validation=validation,
                       split_col=split_col, unlabelled=unlabelled)
    res.guess = guess or guess_task(table.frame[target_col], RETASK_HINT.format(name=name))
    return res


RETASK_HINT = "change it with `ladder data retask {name} --task T` or on the Data page"


def explain_task(guess: TaskGuess, task: str) -> str:
    """One sentence on the task a version has: the guess's reason, or that the user chose it."""
    if guess.task == task:
        return guess.reason
    return (f"{task}: chosen by you (the targets' shape suggests {guess.reason[0].lower()}"
            f"{guess.reason[1:].rstrip('.')}).")


def retask(ws, name: str, task: str, number: int | None = None) -> ImportResult:
    """The same rows under another task type, as a new version (its split kept as it was)."""
    if task not in TASKS:
        raise DatasetError(f"unknown task '{task}'; choose one of: {', '.join(TASKS)}.")
    parent = store.get_version(ws, name, number)
    frame = store.load_frame(ws, parent)
    guess = guess_task(frame[parent.mapping.target_col], RETASK_HINT.format(name=name))
    if parent.mapping.task == task:
        raise DatasetError(f"'{name}' version {parent.number} is already {task}; nothing to do, "
                           "no new version saved.")
    mapping = parent.mapping.model_copy(update={"task": task})
    validate_mapping(frame, mapping, f"dataset '{name}'", allow_unlabelled=True)
    version, created = store.save_version(
        ws, name, frame, mapping, source=f"retask of version {parent.number}",
        note=f"task {parent.mapping.task} -> {task}", parent=parent,
        given=store.get_given(ws, parent), allow_unlabelled=True)
    sp = store.get_split(ws, parent)
    if created and sp is not None:
        keep = np.arange(len(frame), dtype=np.int64)
        tg = (frame[mapping.target_col].astype(str).str.strip().tolist()
              if task in ("classification", "scale") else None)
        store.save_split(ws, version, carry_split(sp, keep, tg))
    return ImportResult(version, created, guess=guess)


def report(ws, name: str, number: int | None = None, *, threshold: float = DEFAULT_THRESHOLD,
           max_tokens: int = DEFAULT_MAX_TOKENS, progress: Progress | None = None,
           save: bool = True) -> tuple[Version, dict]:
    """The quality report of a version (with leakage when it has a split); stored for the page."""
    check_report_params(threshold, max_tokens)
    version = store.get_version(ws, name, number)
    frame = store.load_frame(ws, version)
    rep = quality_report(frame, version.mapping, store.get_split(ws, version),
                         threshold=threshold, max_tokens=max_tokens,
                         model_cache=ws.settings.model_cache, progress=progress,
                         vectors_path=_vectors_path(ws, version))
    rep["dataset"], rep["version"], rep["hash"] = name, version.number, version.hash
    if save:
        store.save_report(ws, version, rep)
    return version, rep


def _vectors_path(ws, version: Version) -> Path:
    from core.embeddings import backend_id

    return store.vectors_path(ws, version, backend_id())


def check_report_params(threshold: float, max_tokens: int) -> None:
    if not (0 < threshold <= 1):
        raise DatasetError(f"--threshold {threshold} is not a cosine similarity in (0, 1]; "
                           "give e.g. 0.95.")
    if max_tokens < 1:
        raise DatasetError(f"--max-tokens {max_tokens} must be at least 1; give e.g. 512.")


def split(ws, name: str, val: float = 0.1, test: float = 0.1, seed: int = 0,
          number: int | None = None) -> tuple[Version, store.Split]:
    """Make and save the train/validation/test split of a version.

    Splits the import was given are kept; only the missing parts are cut from the train rows
    (a given test split ignores `test`, a given validation split ignores `val`).
    """
    version = store.get_version(ws, name, number)
    sp = make_split(store.load_frame(ws, version), version.mapping, val, test, seed,
                    store.get_given(ws, version))
    store.save_split(ws, version, sp)
    return version, sp


def fix(ws, name: str, *, drop_duplicates: bool = False, drop_empty: bool = False,
        drop_leakage: bool = False, resolve_conflicts: str | None = None,
        include_test: bool = False, number: int | None = None,
        threshold: float = DEFAULT_THRESHOLD, embed_fn=None) -> FixResult:
    """Drop rows by the safe fixes and save the rest as a new version (the parent is kept).

    `resolve_conflicts` ("majority", "drop" or "first") drops rows of inputs that carry
    different labels within one split (see `core.datasets.conflicts`). A test split the
    import was given is never reduced unless `include_test`: its conflicting, duplicate
    and empty rows are left as given and counted in `FixResult.left_in_test`.
    """
    if not (drop_duplicates or drop_empty or drop_leakage or resolve_conflicts):
        raise DatasetError("choose at least one fix: --drop-duplicates, --drop-empty, "
                           "--drop-leakage or --resolve-conflicts majority|drop|first.")
    if resolve_conflicts is not None and resolve_conflicts not in CONFLICT_CHOICES:
        raise DatasetError(f"unknown way to resolve conflicts '{resolve_conflicts}'; use "
                           "majority, drop or first.")
    parent = store.get_version(ws, name, number)
    if include_test and "test" not in parent.given:
        raise DatasetError(f"--include-test changes a test file the import was given, and "
                           f"'{name}' version {parent.number} has none (its test split, if any, "
                           "was cut here and is fixed like the rest); leave --include-test out.")
    frame = store.load_frame(ws, parent)
    m = parent.mapping
    sp = store.get_split(ws, parent)
    given = store.get_given(ws, parent)
    if drop_leakage and sp is None:
        raise DatasetError(f"'{name}' version {parent.number} has no split, so nothing can leak; "
                           f"make one first with `ladder data split {name} --val 0.1 --test 0.1`.")
    col = lambda c: frame[c].astype(str).tolist() if c else [""] * len(frame)  # noqa: E731
    inputs, targets, contexts = col(m.input_col), col(m.target_col), col(m.context_col)
    parts = sp.assignment if sp is not None else given.assignment if given is not None else None
    test_rows = ({int(i) for i in np.flatnonzero(given.assignment == SPLITS.index("test"))}
                 if "test" in parent.given else set())
    keep_test = bool(test_rows) and not include_test
    in_test = test_rows if keep_test else set()
    removed: dict[str, int] = {}
    left: dict[str, int] = {}
    drop: set[int] = set()

    def take(kind: str, rows: set[int]) -> None:
        if in_test and rows & in_test:
            left[kind] = len(rows & in_test)
        removed[kind] = len(rows - in_test)
        drop.update(rows - in_test)

    if drop_empty:
        take("empty", {i for i, (a, b) in enumerate(zip(inputs, targets, strict=True))
                       if not a.strip() or not b.strip()})
    if resolve_conflicts:
        groups = conflict_groups([normalise(t) for t in inputs], targets, parts)
        resolve, kept = split_by_test(groups, parts, keep_test)
        if not resolve:
            raise DatasetError(_no_conflicts(name, parent.number, kept))
        take("conflicts", set(rows_to_drop(resolve, targets, resolve_conflicts)))
        if kept:
            left["conflicting_inputs"] = len(kept)
            left["conflicts"] = len(rows_to_drop(kept, targets, resolve_conflicts))
    if drop_duplicates:
        take("duplicates", set(duplicate_rows(inputs, contexts, targets, parts)))
    if drop_leakage:
        take("leakage", set(leaking_train_rows(frame, m, sp, threshold, embed_fn,
                                               None if embed_fn else _vectors_path(ws, parent))))
    removed["total"] = len(drop)
    if not drop:
        return FixResult(parent, False, removed, parent, left)
    keep = np.array(sorted(set(range(len(frame))) - drop), dtype=np.int64)
    if not len(keep):
        raise DatasetError("the fixes would drop every row; nothing would be left to save.")
    kept_rows = frame.iloc[keep].reset_index(drop=True)
    what = ", ".join(f"{n} conflicting, by {resolve_conflicts}" if k == "conflicts" else
                     f"{n} {k}" for k, n in removed.items() if k != "total" and n)
    note = f"dropped {len(drop)} rows ({what})" + _left_note(left, len(drop & test_rows))
    version, created = store.save_version(
        ws, name, kept_rows, m, source=f"fix of version {parent.number}", note=note,
        parent=parent, given=given.take(keep) if given is not None else None,
        allow_unlabelled=True)  # the parent was checked; a fix only drops rows
    if created and sp is not None:
        stratified = m.task in ("classification", "scale")
        tg = [targets[i].strip() for i in keep] if stratified else None
        store.save_split(ws, version, carry_split(sp, keep, tg))
    return FixResult(version, created, removed, parent, left)


def _no_conflicts(name: str, number: int, in_test: list[list[int]]) -> str:
    if in_test:
        return (f"'{name}' version {number} has conflicting labels only in its given test file "
                f"({len(in_test)} inputs, {sum(map(len, in_test))} rows), which is kept as "
                "given; add --include-test (or tick the page's checkbox) to resolve them there "
                "too. No new version saved.")
    return (f"'{name}' version {number} has no conflicting labels (no input carries two "
            "different labels within a split); nothing to do, no new version saved.")


LEFT_WORDS = {"conflicting_inputs": "conflicting inputs",
              "conflicts": "rows the conflict fix would drop", "duplicates": "duplicate rows",
              "empty": "empty rows"}


def describe_left(left: dict) -> str:
    """What a fix left in the given test file, in words: "2 conflicting inputs, ..."."""
    return ", ".join(f"{n} {LEFT_WORDS[k]}" for k, n in left.items() if n)


def _left_note(left: dict, dropped_in_test: int) -> str:
    """What the fix did to, or left in, the given test file, for the version's note."""
    if dropped_in_test:
        return f"; {dropped_in_test} of them from the given test file (--include-test)"
    said = describe_left({k: n for k, n in left.items() if k != "conflicts"})
    return f"; the given test file kept as given ({said} left in it)" if said else ""


def rows_for(ws, name: str, split_name: str | None = None,
             number: int | None = None) -> tuple[Version, pd.DataFrame]:
    """The rows of a version, or of one of its splits."""
    version = store.get_version(ws, name, number)
    frame = store.load_frame(ws, version)
    if split_name is None:
        return version, frame
    if split_name not in SPLITS:
        raise DatasetError(f"unknown split '{split_name}'; use train, validation or test.")
    sp = store.get_split(ws, version)
    if sp is None:
        raise DatasetError(f"'{name}' version {version.number} has no split; make one with "
                           f"`ladder data split {name} --val 0.1 --test 0.1`.")
    return version, frame.iloc[sp.indices(split_name)].reset_index(drop=True)


def export(ws, name: str, out: Path, split_name: str | None = None, fmt: str | None = None,
           number: int | None = None) -> tuple[Path, str, int]:
    """Write a version or split to `out` as CSV or JSONL; returns (path, format, rows)."""
    export_mod.format_for(Path(out), fmt)  # a bad name fails before any work
    _, frame = rows_for(ws, name, split_name, number)
    path, fmt = export_mod.write(frame, Path(out), fmt)
    return path, fmt, len(frame)


def load_sample(ws, name: str = SAMPLE_NAME) -> ImportResult:
    """Import examples/support_tickets.csv (input `text`, target `category`) with a default split."""
    if not SAMPLE_CSV.exists():
        raise DatasetError(f"the sample data {SAMPLE_CSV} is missing; restore the examples/ "
                           "folder from the repository.")
    result = import_file(ws, SAMPLE_CSV, name=name, input_col="text", target_col="category",
                         task="classification")
    if store.get_split(ws, result.version) is None:
        split(ws, name, 0.1, 0.1, 0, result.version.number)
    return result


def unlabelled_rows(ws, version: Version) -> list[int]:
    """Row indices of a version that have an input but no label yet."""
    return unlabelled(store.load_frame(ws, version), version.mapping)
