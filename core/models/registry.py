"""The persisted model registry: built-in packaged models plus the user's own.

Adding or editing validates the entry first (and, for endpoints, sends one test
request unless told not to); only then is the row written, so a rejected entry
leaves the registry exactly as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import ValidationError

from core.models import kinds
from core.models.base import ModelError
from core.models.packaged import PACKAGED
from core.models.spec import ModelSpec, describe_validation_error
from core.store import Database

_COLUMNS = (
    "id", "kind", "source", "base_url", "api_key_env", "base_model", "price_in_per_m",
    "price_out_per_m", "hourly_cost", "concurrency", "trust_remote_code", "builtin", "notes",
)


def build_spec(**fields) -> ModelSpec:
    """Validate form or CLI fields into a ModelSpec; raise ModelError with readable text."""
    try:
        return ModelSpec(**fields)
    except ValidationError as e:
        raise ModelError(describe_validation_error(e)) from None


class Registry:
    def __init__(self, db: Database, runs_dir=None):
        self.db = db
        self._seed_builtins()
        if runs_dir is not None:
            self.adopt_finetuned(runs_dir)

    def _seed_builtins(self) -> None:
        now = time.time()
        with self.db.connect() as c:
            for i, pm in enumerate(PACKAGED.values()):  # listed in this order
                c.execute(
                    "INSERT OR IGNORE INTO models (id, kind, source, hourly_cost, builtin, notes,"
                    " created_at, updated_at) VALUES (?, 'packaged', ?, ?, 1, ?, ?, ?)",
                    (pm.id, pm.id, pm.default_hourly_cost, pm.description, now + i, now + i),
                )

    def list(self) -> list[ModelSpec]:
        rows = self.db.query("SELECT * FROM models ORDER BY builtin DESC, created_at, id")
        return [_row_to_spec(r) for r in rows]

    def get(self, model_id: str) -> ModelSpec:
        rows = self.db.query("SELECT * FROM models WHERE id = ?", (model_id,))
        if not rows:
            known = ", ".join(m.id for m in self.list())
            raise ModelError(
                f"Unknown model '{model_id}'. Registered models: {known}. "
                "Add one with `ladder models add` or on the Models page."
            )
        return _row_to_spec(rows[0])

    def exists(self, model_id: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM models WHERE id = ?", (model_id,)))

    def add(self, spec: ModelSpec, verify: Callable[[ModelSpec], object] | None = None) -> ModelSpec:
        """Register `spec`; `verify` (e.g. a test request) runs before anything is written."""
        if self.exists(spec.id):
            raise ModelError(
                f"A model named '{spec.id}' is already registered; choose another name "
                "or edit the existing one."
            )
        check_before_saving(spec)
        if verify is not None:
            verify(spec)
        now = time.time()
        values = _spec_to_row(spec)
        with self.db.connect() as c:
            c.execute(
                f"INSERT INTO models ({', '.join(_COLUMNS)}, created_at, updated_at)"
                f" VALUES ({', '.join('?' * len(_COLUMNS))}, ?, ?)",
                (*values, now, now),
            )
        return spec

    def update(self, model_id: str, verify: Callable[[ModelSpec], object] | None = None,
               **changes) -> ModelSpec:
        current = self.get(model_id)
        if "id" in changes and changes["id"] != model_id:
            raise ModelError("A model cannot be renamed; add it under the new name and delete the old one.")
        merged = current.model_dump() | {k: v for k, v in changes.items() if v is not None}
        spec = build_spec(**merged)
        if current.builtin and (spec.kind != current.kind or spec.source != current.source):
            raise ModelError(f"'{model_id}' is built in: only its prices and notes can change.")
        check_before_saving(spec)
        if verify is not None:
            verify(spec)
        sets = ", ".join(f"{c} = ?" for c in _COLUMNS[1:])
        with self.db.connect() as c:
            c.execute(
                f"UPDATE models SET {sets}, updated_at = ? WHERE id = ?",
                (*_spec_to_row(spec)[1:], time.time(), model_id),
            )
        return spec

    def delete(self, model_id: str) -> None:
        spec = self.get(model_id)
        if spec.builtin:
            raise ModelError(f"'{model_id}' is built in and cannot be deleted.")
        dependents = self.db.query("SELECT id FROM models WHERE base_model = ?", (model_id,))
        if dependents:
            names = ", ".join(r["id"] for r in dependents)
            raise ModelError(f"'{model_id}' is the base of {names}; delete those first.")
        self.db.execute("DELETE FROM models WHERE id = ?", (model_id,))

    def has_hub_models(self) -> bool:
        """Whether a registered model fetches its weights from the Hugging Face Hub."""
        used = [r["kind"] for r in self.db.query("SELECT DISTINCT kind FROM models")]
        return any((k := kinds.find(name)) is not None and k.downloads for name in used)

    def adopt_finetuned(self, runs_dir) -> int:
        """Entries of kind `folder` whose folder lies in the runs folder were made by a full
        fine-tune before the `finetuned` kind existed: give them that kind. Returns how many."""
        prefix = str(runs_dir).rstrip("/") + "/"
        with self.db.connect() as c:
            return c.execute(
                "UPDATE models SET kind = 'finetuned' WHERE kind = 'folder' AND "
                "substr(source, 1, ?) = ?", (len(prefix), prefix)).rowcount

    def record_usage(self, model_id: str, input_tokens: int, output_tokens: int,
                     latency_s: float, cost_usd: float | None, purpose: str = "test") -> None:
        self.db.execute(
            "INSERT INTO model_usage (model_id, at, input_tokens, output_tokens, latency_s,"
            " cost_usd, purpose) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (model_id, time.time(), input_tokens, output_tokens, latency_s, cost_usd, purpose),
        )


def check_before_saving(spec: ModelSpec) -> None:
    """The kind's own check before saving (an endpoint's key variable is set, ...)."""
    check = kinds.of(spec).check
    if check is not None:
        check(spec)


def _spec_to_row(spec: ModelSpec) -> tuple:
    d = spec.model_dump()
    d["trust_remote_code"] = int(d["trust_remote_code"])
    d["builtin"] = int(d["builtin"])
    return tuple(d[c] for c in _COLUMNS)


def _row_to_spec(row) -> ModelSpec:
    d = {c: row[c] for c in _COLUMNS}
    d["trust_remote_code"] = bool(d["trust_remote_code"])
    d["builtin"] = bool(d["builtin"])
    return ModelSpec.model_construct(**d)
