"""Prompt sets and their variants' versions: every saved edit is a new version, never an overwrite.

A prompt set is tied to a dataset. Saving a variant whose content is unchanged
is a no-op; deleting a variant stores an empty version, so history stays whole.
"""

from __future__ import annotations

import difflib
import json
import time

from core.prompts.template import TemplateError
from core.prompts.variants import Variant


def get_or_create_set(ws, name: str, dataset: str | None = None) -> int:
    name = name.strip()
    if not name:
        raise TemplateError("A prompt set needs a name.")
    with ws.db.connect() as c:
        row = c.execute("SELECT id FROM prompt_sets WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row["id"])
        cur = c.execute("INSERT INTO prompt_sets (name, dataset, created_at) VALUES (?, ?, ?)",
                        (name, dataset, time.time()))
        return int(cur.lastrowid)


def dataset_set_name(dataset: str) -> str:
    """The name of the prompt set every page and the CLI use for `dataset`."""
    return f"{dataset} prompts"


def dataset_set(ws, dataset: str) -> int:
    """The id of `dataset`'s prompt set (created empty the first time)."""
    return get_or_create_set(ws, dataset_set_name(dataset), dataset)


def join_dataset_set(ws, dataset: str, variants: list[Variant]) -> dict:
    """Save `variants` (a prompts file run from the CLI) into `dataset`'s prompt set, so the
    pages offer what the CLI ran: a new name is added, a changed variant gets a new version,
    an unchanged one keeps its version; variants of the set not named here are left as they
    are. Returns {"name": the set's name, "versions": {variant: version}}."""
    set_id = dataset_set(ws, dataset)
    return {"name": dataset_set_name(dataset),
            "versions": {v.name: save_variant(ws, set_id, v) for v in variants}}


def join_from_run(ws, run_id: int) -> dict:
    """Put the variants a stored run used into its dataset's prompt set (`join_dataset_set`):
    for runs made from a prompts file before the CLI put them there itself."""
    from core.evals.store import get_run

    run = get_run(ws, run_id)
    return join_dataset_set(ws, run["dataset"], [Variant(**v) for v in run["config"]["variants"]])


def list_sets(ws) -> list[dict]:
    return [dict(r) for r in ws.db.query("SELECT * FROM prompt_sets ORDER BY name")]


def save_variant(ws, set_id: int, variant: Variant) -> int:
    """Store `variant` as a new version if it changed; returns its version number."""
    body = variant.model_dump_json()
    with ws.db.connect() as c:
        row = c.execute("SELECT version, body FROM prompt_versions WHERE set_id = ? AND variant = ?"
                        " ORDER BY version DESC LIMIT 1", (set_id, variant.name)).fetchone()
        if row and row["body"] == body:
            return int(row["version"])
        version = (int(row["version"]) + 1) if row else 1
        c.execute("INSERT INTO prompt_versions (set_id, variant, version, body, created_at)"
                  " VALUES (?, ?, ?, ?, ?)", (set_id, variant.name, version, body, time.time()))
        return version


def save_all(ws, set_id: int, variants: list[Variant]) -> dict[str, int]:
    """Save already-validated variants; those missing from `variants` are marked deleted."""
    current = {v.name for v in current_variants(ws, set_id)}
    out = {v.name: save_variant(ws, set_id, v) for v in variants}
    for gone in current - set(out):
        delete_variant(ws, set_id, gone)
    return out


def delete_variant(ws, set_id: int, name: str) -> None:
    with ws.db.connect() as c:
        row = c.execute("SELECT MAX(version) AS v FROM prompt_versions WHERE set_id = ? AND "
                        "variant = ?", (set_id, name)).fetchone()
        if row["v"] is None:
            return
        c.execute("INSERT INTO prompt_versions (set_id, variant, version, body, created_at)"
                  " VALUES (?, ?, ?, NULL, ?)", (set_id, name, int(row["v"]) + 1, time.time()))


def current_variants(ws, set_id: int) -> list[Variant]:
    rows = ws.db.query(
        "SELECT p.variant, p.body FROM prompt_versions p JOIN (SELECT variant, MAX(version) AS v "
        "FROM prompt_versions WHERE set_id = ? GROUP BY variant) m ON p.variant = m.variant AND "
        "p.version = m.v WHERE p.set_id = ? ORDER BY p.created_at, p.variant", (set_id, set_id))
    return [Variant(**json.loads(r["body"])) for r in rows if r["body"]]


def history(ws, set_id: int, name: str) -> list[dict]:
    rows = ws.db.query("SELECT version, body, created_at FROM prompt_versions WHERE set_id = ? "
                       "AND variant = ? ORDER BY version", (set_id, name))
    return [{"version": r["version"], "created_at": r["created_at"],
             "variant": Variant(**json.loads(r["body"])) if r["body"] else None} for r in rows]


def diff(old: Variant | None, new: Variant | None) -> str:
    """A unified diff of two versions of a variant (system, template and settings)."""
    def lines(v: Variant | None) -> list[str]:
        if v is None:
            return ["(deleted)"]
        out = [f"system: {v.system or ''}"] + ["template:"] + v.template.splitlines()
        out += [f"few_shot: {v.few_shot} ({v.few_shot_mode})", f"output_format: {v.output_format}"]
        return out

    return "\n".join(difflib.unified_diff(lines(old), lines(new), "before", "after", lineterm=""))
