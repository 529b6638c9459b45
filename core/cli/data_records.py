"""The JSON record of a dataset version that every `ladder data` command prints."""

from __future__ import annotations


def version_record(v) -> dict:
    return {"name": v.dataset, "version": v.number, "hash": v.hash, "rows": v.rows,
            "task": v.mapping.task, "input_col": v.mapping.input_col,
            "target_col": v.mapping.target_col, "context_col": v.mapping.context_col,
            "source": v.source, "note": v.note, "parent_hash": v.parent_hash,
            "columns": v.columns, "created_at": v.created_at, "given_splits": list(v.given)}
