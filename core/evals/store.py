"""Evaluation records in SQLite: runs, cells and the output cache.

A cell row holds everything a table or chart needs (output, parsed answer,
score, error kind, tokens, latency, cost), so summaries are aggregates of cells
and nothing is computed twice.
"""

from __future__ import annotations

import json
import time

import pandas as pd

from core.evals.errors import EvalError
from core.evals.purpose import check_purpose, infer_purpose

CELL_COLUMNS = ("run_id", "model_id", "variant", "row_id", "sample", "cache_key", "output",
                "parsed", "score", "passed", "error_kind", "input_tokens", "output_tokens",
                "latency_s", "cost_usd", "cached")


def create_run_row(ws, name: str, cfg, version_hash: str, total: int,
                   purpose: str | None = None, truncated: list[int] | None = None) -> int:
    """A new pending run; `purpose` (core.evals.purpose) follows from `cfg` when not given;
    `truncated`: the rows whose input the run cuts to fit the context (core.evals.fit)."""
    purpose = check_purpose(purpose) if purpose else infer_purpose(ws, cfg)
    now = time.time()
    with ws.db.connect() as c:
        cur = c.execute(
            "INSERT INTO eval_runs (name, dataset, version_hash, split, model_id, config, status,"
            " total_cells, created_at, updated_at, purpose, truncated)"
            " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
            (name, cfg.dataset, version_hash, cfg.split, ",".join(cfg.models),
             cfg.model_dump_json(), total, now, now, purpose, json.dumps(truncated or [])),
        )
        return int(cur.lastrowid)


def get_run(ws, run_id: int) -> dict:
    rows = ws.db.query("SELECT * FROM eval_runs WHERE id = ?", (run_id,))
    if not rows:
        raise EvalError(f"there is no evaluation run {run_id}; list runs with the Prompt Lab "
                        "page or `ladder eval --help`.")
    d = dict(rows[0])
    d["config"] = json.loads(d["config"])
    d["errors"] = json.loads(d["error"]) if d["error"] else {}
    d["truncated"] = json.loads(d["truncated"])
    return d


def list_runs(ws, dataset: str | None = None, purpose: str | tuple[str, ...] | None = None
              ) -> list[dict]:
    """Runs, newest first; of one dataset, and of one purpose (or several), when given."""
    sql = "SELECT id, name, dataset, split, model_id, purpose, status, total_cells, " \
          "done_cells, created_at, updated_at FROM eval_runs"
    where, params = [], []
    if dataset:
        where.append("dataset = ?")
        params.append(dataset)
    if purpose:
        wanted = (purpose,) if isinstance(purpose, str) else tuple(purpose)
        for p in wanted:
            check_purpose(p)
        where.append(f"purpose IN ({', '.join('?' * len(wanted))})")
        params += wanted
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [dict(r) for r in ws.db.query(sql + " ORDER BY id DESC", tuple(params))]


def set_status(ws, run_id: int, status: str, error: str | None = None) -> None:
    ws.db.execute(
        "UPDATE eval_runs SET status = ?, error = ?, updated_at = ?, done_cells = "
        "(SELECT COUNT(*) FROM eval_cells WHERE run_id = ?) WHERE id = ?",
        (status, error, time.time(), run_id, run_id),
    )


def done_keys(ws, run_id: int) -> set[tuple]:
    rows = ws.db.query("SELECT model_id, variant, row_id, sample FROM eval_cells WHERE run_id = ?",
                       (run_id,))
    return {(r["model_id"], r["variant"], r["row_id"], r["sample"]) for r in rows}


def cached_outputs(ws, keys: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    unique = list(dict.fromkeys(keys))
    for i in range(0, len(unique), 500):
        part = unique[i:i + 500]
        rows = ws.db.query(
            f"SELECT * FROM eval_cache WHERE key IN ({','.join('?' * len(part))})", tuple(part))
        out.update({r["key"]: dict(r) for r in rows})
    return out


def store_outputs(ws, pairs: list) -> None:
    """Cache (task, output) pairs computed outside a stored run."""
    now = time.time()
    with ws.db.connect() as c:
        for t, o in pairs:
            _cache_output(c, t, o, now)


def _cache_output(c, t, o: dict, now: float) -> None:
    """Keep one model output under its task key (first write wins)."""
    c.execute(
        "INSERT OR IGNORE INTO eval_cache (key, model_id, output, input_tokens,"
        " output_tokens, latency_s, compute_s, cost_usd, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (t.key, t.model_id, o["output"], o["input_tokens"], o["output_tokens"],
         o["latency_s"], o.get("compute_s"), o.get("cost_usd"), now))


def write_cells(ws, run_id: int, items: list, score_fn) -> None:
    """Score and store (task, output, from_cache) triples in one transaction."""
    if not items:
        return
    scored = score_fn([(t, o) for t, o, _ in items])
    now = time.time()
    with ws.db.connect() as c:
        for (t, o, cached), s in zip(items, scored, strict=True):
            if not cached:
                _cache_output(c, t, o, now)
            c.execute(
                f"INSERT OR REPLACE INTO eval_cells ({', '.join(CELL_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(CELL_COLUMNS))})",
                (run_id, t.model_id, t.variant, t.row["row_id"], t.sample, t.key, o["output"],
                 s.parsed, s.score, int(s.passed), s.error_kind, o["input_tokens"],
                 o["output_tokens"], o["latency_s"], o.get("cost_usd"), int(cached)))
        c.execute("UPDATE eval_runs SET done_cells = (SELECT COUNT(*) FROM eval_cells WHERE "
                  "run_id = ?), updated_at = ? WHERE id = ?", (run_id, now, run_id))


def cells_frame(ws, run_id: int) -> pd.DataFrame:
    rows = ws.db.query(f"SELECT {', '.join(CELL_COLUMNS)} FROM eval_cells WHERE run_id = ? "
                       "ORDER BY model_id, variant, row_id, sample", (run_id,))
    return pd.DataFrame([dict(r) for r in rows], columns=list(CELL_COLUMNS))


def delete_run(ws, run_id: int) -> None:
    ws.db.execute("DELETE FROM eval_runs WHERE id = ?", (run_id,))
