"""Dataset versions: immutable, identified by a content hash, stored in the workspace.

A version's rows live in one Parquet file, `<workspace>/datasets/<hash>.parquet`
(beside it, `<hash>.vectors-<engine>.npz` caches the MiniLM vectors of its inputs);
its metadata (dataset name, number, parent, column mapping, task type), its
split and its last quality report are rows in SQLite (migration 0002).
Importing the same content again returns the existing version; a fix writes a
new version and never touches its parent.

Splits the user brought (a separate test or validation file, or a split column)
are part of the version itself: the per-row assignment they give is stored with
the version (migration 0006) and hashed with its rows, so the same rows with a
different given test set are a different version, and no later `split` can move
a given row. The saved split (`dataset_splits`) only fills in the parts that were
not given.

Trade-off: rows in Parquet instead of SQLite keep the database small and fast
for the dashboard (a 50,000-row dataset is one compressed columnar file that
pandas reads in milliseconds) at the cost of two places to keep consistent:
the file is written first under its hash, the metadata row second, and a file
no row refers to is deleted with its last version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import zlib
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.datasets.errors import DatasetError
from core.datasets.schema import Mapping, validate_mapping

SPLITS = ("train", "validation", "test")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_frames: OrderedDict[str, pd.DataFrame] = OrderedDict()


@dataclass(frozen=True)
class Version:
    dataset: str
    number: int
    hash: str
    parent_hash: str | None
    source: str
    note: str
    rows: int
    columns: list[str]
    mapping: Mapping
    created_at: float
    given: tuple[str, ...] = ()  # splits given by the import, e.g. ("train", "test")

    @property
    def short(self) -> str:
        return self.hash[:12]

    def record(self) -> dict:
        d = asdict(self)
        d["mapping"] = self.mapping.model_dump()
        return d


@dataclass(frozen=True)
class Split:
    val_ratio: float
    test_ratio: float
    seed: int
    stratified: bool
    assignment: np.ndarray  # uint8 per row: 0 train, 1 validation, 2 test
    counts: dict  # {"train": {"label": n, ...}, ...}
    given: tuple[str, ...] = ()  # parts given by the import (kept as they are), not cut here

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.assignment == SPLITS.index(split))

    def sizes(self) -> dict[str, int]:
        return {s: int((self.assignment == i).sum()) for i, s in enumerate(SPLITS)}


@dataclass(frozen=True)
class GivenSplit:
    """The split a user brought: each row's part (0 train, 1 validation, 2 test) and which
    parts were given. Train rows are the pool the missing parts are cut from."""

    assignment: np.ndarray
    parts: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "assignment", np.asarray(self.assignment, dtype=np.uint8))
        object.__setattr__(self, "parts", tuple(s for s in SPLITS if s in self.parts))

    def take(self, keep: np.ndarray) -> GivenSplit:
        """The given split of the rows in `keep` (a fix keeps the parts, even emptied ones)."""
        return GivenSplit(self.assignment[keep], self.parts)

    def sizes(self) -> dict[str, int]:
        return {s: int((self.assignment == i).sum()) for i, s in enumerate(SPLITS)
                if s in self.parts}

    def allows(self, assignment: np.ndarray) -> bool:
        """Whether a split keeps every given row where it was given and cuts missing parts
        only out of the train rows."""
        a = np.asarray(assignment)
        if len(a) != len(self.assignment):
            return False
        held = self.assignment != 0
        cut = [SPLITS.index(s) for s in SPLITS if s not in self.parts]
        return bool((a[held] == self.assignment[held]).all()
                    and np.isin(a[~held], [0, *cut]).all())


def datasets_dir(ws) -> Path:
    return ws.settings.root / "datasets"


def vectors_path(ws, version: Version, engine: str) -> Path:
    """Where the MiniLM vectors of a version's distinct inputs are cached, per embedding engine."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", engine).strip("-")
    return datasets_dir(ws) / f"{version.hash}.vectors-{slug}.npz"


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise DatasetError(f"'{name}' is not a usable dataset name; use 1-64 letters, digits, "
                           "'.', '_' or '-', starting with a letter or digit (e.g. tickets-v1).")
    return name


def content_hash(frame: pd.DataFrame, mapping: Mapping,
                 given: GivenSplit | None = None) -> str:
    """sha256 of the column names, every cell, the mapping and any given split; the identity.

    Without a given split the hash is what it always was, so stored versions keep their names.
    """
    h = hashlib.sha256()
    h.update(json.dumps({"columns": list(frame.columns), "mapping": mapping.model_dump()},
                        sort_keys=True).encode())
    for col in frame.columns:
        h.update(b"\x00")
        h.update(json.dumps(frame[col].tolist(), ensure_ascii=False).encode())
    if given is not None:
        h.update(b"\x00given:" + ",".join(given.parts).encode() + b"\x00")
        h.update(given.assignment.astype(np.uint8).tobytes())
    return h.hexdigest()


def _version(row) -> Version:
    return Version(
        dataset=row["dataset"], number=row["number"], hash=row["hash"],
        parent_hash=row["parent_hash"], source=row["source"], note=row["note"], rows=row["rows"],
        columns=json.loads(row["columns"]),
        mapping=Mapping(input_col=row["input_col"], target_col=row["target_col"],
                        context_col=row["context_col"], task=row["task"]),
        created_at=row["created_at"],
        given=tuple(p for p in (row["given_splits"] or "").split(",") if p),
    )


def save_version(ws, name: str, frame: pd.DataFrame, mapping: Mapping, *, source: str,
                 note: str = "", parent: Version | None = None,
                 given: GivenSplit | None = None,
                 allow_unlabelled: bool = False,
                 allow_one_class: bool = False) -> tuple[Version, bool]:
    """Store `frame` as a version of dataset `name`; return (version, created).

    Same content (and the same given split) as an existing version of this dataset -> that
    version, created=False. `allow_unlabelled`: the target may be empty in every row;
    `allow_one_class`: a classification target may hold one label (a teacher's labels kept
    on purpose, `ladder data label --allow-one-label`).
    """
    check_name(name)
    frame = frame.reset_index(drop=True)
    validate_mapping(frame, mapping, f"dataset '{name}'", allow_unlabelled=allow_unlabelled,
                     allow_one_class=allow_one_class)
    if given is not None and len(given.assignment) != len(frame):
        raise ValueError("a given split needs one entry per row")
    digest = content_hash(frame, mapping, given)
    existing = ws.db.query("SELECT * FROM dataset_versions WHERE dataset = ? AND hash = ?",
                           (name, digest))
    if existing:
        return _version(existing[0]), False
    folder = datasets_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.parquet"
    wrote = not path.exists()
    if wrote:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        frame.astype(str).to_parquet(tmp, index=False)
        tmp.replace(path)
    now = time.time()
    try:
        with ws.db.connect() as c:
            c.execute("INSERT OR IGNORE INTO datasets (name, created_at, updated_at) "
                      "VALUES (?, ?, ?)", (name, now, now))
            c.execute("UPDATE datasets SET updated_at = ? WHERE name = ?", (now, name))
            number = c.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM dataset_versions "
                               "WHERE dataset = ?", (name,)).fetchone()[0]
            c.execute(
                "INSERT INTO dataset_versions (dataset, number, hash, parent_hash, source, note,"
                " rows, columns, input_col, target_col, context_col, task, created_at,"
                " given_splits, given_assignment)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, number, digest, parent.hash if parent else None, source, note,
                 len(frame), json.dumps(list(frame.columns)), mapping.input_col,
                 mapping.target_col, mapping.context_col, mapping.task, now,
                 ",".join(given.parts) if given is not None else "",
                 zlib.compress(given.assignment.tobytes()) if given is not None else None))
    except BaseException:
        if wrote:
            path.unlink(missing_ok=True)
        raise
    return get_version(ws, name, number), True


def list_datasets(ws) -> list[dict]:
    """One record per dataset: latest version, its rows and task, version count, split."""
    rows = ws.db.query(
        "SELECT v.*, d.updated_at, (SELECT COUNT(*) FROM dataset_versions x"
        " WHERE x.dataset = v.dataset) AS versions,"
        " (SELECT COUNT(*) FROM dataset_splits s WHERE s.dataset = v.dataset"
        " AND s.hash = v.hash) AS has_split"
        " FROM dataset_versions v JOIN datasets d ON d.name = v.dataset"
        " WHERE v.number = (SELECT MAX(number) FROM dataset_versions y"
        " WHERE y.dataset = v.dataset) ORDER BY d.updated_at DESC")
    return [{"name": r["dataset"], "version": r["number"], "hash": r["hash"],
             "rows": r["rows"], "task": r["task"], "input_col": r["input_col"],
             "target_col": r["target_col"], "versions": r["versions"],
             "split": bool(r["has_split"]), "updated_at": r["updated_at"]} for r in rows]


def list_versions(ws, name: str) -> list[Version]:
    rows = ws.db.query("SELECT * FROM dataset_versions WHERE dataset = ? ORDER BY number",
                       (name,))
    if not rows:
        raise _unknown(ws, name)
    return [_version(r) for r in rows]


def _unknown(ws, name: str) -> DatasetError:
    names = [r["name"] for r in ws.db.query("SELECT name FROM datasets ORDER BY name")]
    known = ", ".join(names) if names else "none yet"
    return DatasetError(f"there is no dataset '{name}' (known: {known}); import one with "
                        "`ladder data import PATH --name NAME ...`.")


def get_version(ws, name: str, number: int | None = None) -> Version:
    """The given version of a dataset, or its latest."""
    if number is None:
        rows = ws.db.query("SELECT * FROM dataset_versions WHERE dataset = ? "
                           "ORDER BY number DESC LIMIT 1", (name,))
    else:
        rows = ws.db.query("SELECT * FROM dataset_versions WHERE dataset = ? AND number = ?",
                           (name, number))
    if not rows:
        if number is not None and ws.db.query("SELECT 1 FROM datasets WHERE name = ?", (name,)):
            have = ", ".join(str(v.number) for v in list_versions(ws, name))
            raise DatasetError(f"dataset '{name}' has no version {number}; its versions are "
                               f"{have}.")
        raise _unknown(ws, name)
    return _version(rows[0])


def load_frame(ws, version: Version) -> pd.DataFrame:
    """The rows of a version (all cells strings); cached in memory by hash."""
    key = f"{ws.settings.root}:{version.hash}"
    if key in _frames:
        _frames.move_to_end(key)
        return _frames[key]
    path = datasets_dir(ws) / f"{version.hash}.parquet"
    if not path.exists():
        raise DatasetError(f"the rows of '{version.dataset}' version {version.number} are "
                           f"missing ({path}); delete that version and import the file again.")
    frame = pd.read_parquet(path).astype(object)
    _frames[key] = frame
    while len(_frames) > 4:
        _frames.popitem(last=False)
    return frame


def delete(ws, name: str, number: int | None = None) -> list[Version]:
    """Delete one version, or the whole dataset; return what was deleted."""
    victims = [get_version(ws, name, number)] if number is not None else list_versions(ws, name)
    with ws.db.connect() as c:
        for v in victims:
            c.execute("DELETE FROM dataset_reports WHERE dataset = ? AND hash = ?", (name, v.hash))
            c.execute("DELETE FROM dataset_splits WHERE dataset = ? AND hash = ?", (name, v.hash))
            c.execute("DELETE FROM dataset_versions WHERE dataset = ? AND hash = ?",
                      (name, v.hash))
        left = c.execute("SELECT COUNT(*) FROM dataset_versions WHERE dataset = ?",
                         (name,)).fetchone()[0]
        if not left:
            c.execute("DELETE FROM datasets WHERE name = ?", (name,))
    for v in victims:
        if not ws.db.query("SELECT 1 FROM dataset_versions WHERE hash = ?", (v.hash,)):
            (datasets_dir(ws) / f"{v.hash}.parquet").unlink(missing_ok=True)
            for cached in datasets_dir(ws).glob(f"{v.hash}.vectors-*.npz"):
                cached.unlink(missing_ok=True)
    return victims


def get_given(ws, version: Version) -> GivenSplit | None:
    """The split the import was given for this version, or None when it cut none."""
    if not version.given:
        return None
    rows = ws.db.query("SELECT given_assignment FROM dataset_versions WHERE dataset = ? AND "
                       "hash = ?", (version.dataset, version.hash))
    blob = rows[0]["given_assignment"] if rows else None
    if blob is None:
        return None
    return GivenSplit(np.frombuffer(zlib.decompress(blob), dtype=np.uint8).copy(), version.given)


def save_split(ws, version: Version, split: Split) -> None:
    given = get_given(ws, version)
    if given is not None and not given.allows(split.assignment):
        raise DatasetError(f"'{version.dataset}' version {version.number} keeps the splits its "
                           f"import was given ({', '.join(version.given)}); a split may only cut "
                           "the missing parts out of the train rows.")
    blob = zlib.compress(split.assignment.astype(np.uint8).tobytes())
    with ws.db.connect() as c:
        c.execute("DELETE FROM dataset_reports WHERE dataset = ? AND hash = ?",
                  (version.dataset, version.hash))
        c.execute(
            "INSERT OR REPLACE INTO dataset_splits (dataset, hash, val_ratio, test_ratio, seed,"
            " stratified, assignment, counts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (version.dataset, version.hash, split.val_ratio, split.test_ratio, split.seed,
             int(split.stratified), blob, json.dumps(split.counts), time.time()))


def get_split(ws, version: Version) -> Split | None:
    rows = ws.db.query("SELECT * FROM dataset_splits WHERE dataset = ? AND hash = ?",
                       (version.dataset, version.hash))
    if not rows:
        return None
    r = rows[0]
    assignment = np.frombuffer(zlib.decompress(r["assignment"]), dtype=np.uint8).copy()
    return Split(r["val_ratio"], r["test_ratio"], r["seed"], bool(r["stratified"]), assignment,
                 json.loads(r["counts"]), version.given)


def save_report(ws, version: Version, report: dict) -> None:
    with ws.db.connect() as c:
        c.execute("INSERT OR REPLACE INTO dataset_reports (dataset, hash, params, report,"
                  " created_at) VALUES (?, ?, ?, ?, ?)",
                  (version.dataset, version.hash, json.dumps(report.get("params", {})),
                   json.dumps(report, default=str), time.time()))


def get_report(ws, version: Version) -> dict | None:
    rows = ws.db.query("SELECT report FROM dataset_reports WHERE dataset = ? AND hash = ?",
                       (version.dataset, version.hash))
    return json.loads(rows[0]["report"]) if rows else None
