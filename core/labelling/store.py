"""Label runs in SQLite (migration 0010): one row per labelling that wrote a version."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field


@dataclass
class LabelRun:
    """What a teacher did to one version: rows asked, labelled, left unlabelled, cost, time."""

    dataset: str
    parent_hash: str
    hash: str
    model_id: str
    variant: str
    asked: int
    labelled: int
    unparsed: list[dict] = field(default_factory=list)  # [{row_id, output}]
    resumed: int = 0  # answers read back from an earlier, interrupted labelling
    gold: int = 0
    check_rows: int = 0  # hand-labelled rows the teacher also answered, as a check
    check_agreement: float | None = None  # share of those on which it gave the hand label
    cost_usd: float = 0.0
    model_s: float = 0.0  # the teacher's measured time, summed over the rows
    wall_s: float = 0.0  # this call's wall time
    id: int | None = None
    created_at: float = 0.0

    def record(self) -> dict:
        return asdict(self)


def save(ws, run: LabelRun) -> LabelRun:
    now = time.time()
    with ws.db.connect() as c:
        cur = c.execute(
            "INSERT INTO label_runs (dataset, parent_hash, hash, model_id, variant, asked,"
            " labelled, unparsed, resumed, gold, check_rows, check_agreement, cost_usd,"
            " model_s, wall_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)",
            (run.dataset, run.parent_hash, run.hash, run.model_id, run.variant, run.asked,
             run.labelled, json.dumps(run.unparsed), run.resumed, run.gold, run.check_rows,
             run.check_agreement, run.cost_usd, run.model_s, run.wall_s, now))
        run.id, run.created_at = cur.lastrowid, now
    return run


def _run(r) -> LabelRun:
    return LabelRun(dataset=r["dataset"], parent_hash=r["parent_hash"], hash=r["hash"],
                    model_id=r["model_id"], variant=r["variant"], asked=r["asked"],
                    labelled=r["labelled"], unparsed=json.loads(r["unparsed"]),
                    resumed=r["resumed"], gold=r["gold"], check_rows=r["check_rows"],
                    check_agreement=r["check_agreement"], cost_usd=r["cost_usd"],
                    model_s=r["model_s"], wall_s=r["wall_s"], id=r["id"],
                    created_at=r["created_at"])


def runs_for(ws, dataset: str, version_hash: str) -> list[LabelRun]:
    """The labellings behind a version: the one that wrote it and those of its ancestors
    (a version labelled in two passes paid for both), oldest first."""
    out: list[LabelRun] = []
    seen: set[str] = set()
    h: str | None = version_hash
    while h and h not in seen:
        seen.add(h)
        rows = ws.db.query("SELECT * FROM label_runs WHERE dataset = ? AND hash = ? "
                           "ORDER BY id DESC LIMIT 1", (dataset, h))
        if rows:
            out.append(_run(rows[0]))
        parent = ws.db.query("SELECT parent_hash FROM dataset_versions WHERE dataset = ? AND "
                             "hash = ?", (dataset, h))
        h = parent[0]["parent_hash"] if parent else None
    return out[::-1]


def list_runs(ws, dataset: str | None = None) -> list[LabelRun]:
    rows = (ws.db.query("SELECT * FROM label_runs WHERE dataset = ? ORDER BY id", (dataset,))
            if dataset else ws.db.query("SELECT * FROM label_runs ORDER BY id"))
    return [_run(r) for r in rows]
