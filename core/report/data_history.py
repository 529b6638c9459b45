"""The report's data section: the current version's quality, and its ancestors' history.

A fix saves a new version whose parent is the version it fixed (`parent_hash`), and a
quality report is kept per version (`dataset_reports`). After a fix the new version has
no report of its own until one is computed, but its ancestors' reports still say what was
found, and each fix's note says what it changed; the history puts them in order, oldest
first, so "what was wrong and what was done about it" reads straight down.
"""

from __future__ import annotations

QUALITY_KEYS = ("exact_duplicates", "near_duplicates", "conflicting_labels", "missing_inputs",
                "missing_targets", "imbalance_ratio", "pii", "leakage")


def lineage(ws, version) -> list:
    """`version` and its ancestors, oldest first (stops where a parent was deleted)."""
    from core.datasets.versions import list_versions

    by_hash = {v.hash: v for v in list_versions(ws, version.dataset)}
    chain, seen = [version], {version.hash}
    while chain[-1].parent_hash in by_hash and chain[-1].parent_hash not in seen:
        parent = by_hash[chain[-1].parent_hash]
        chain.append(parent)
        seen.add(parent.hash)
    return chain[::-1]


def _found(rep: dict | None) -> dict | None:
    return {k: rep.get(k) for k in QUALITY_KEYS} if rep else None


def quality_history(ws, version) -> list[dict]:
    """One entry per version of the lineage, oldest first: `version`, `rows`, `source`,
    `change` (what made it from its parent: the fix's note, e.g. "dropped 16 rows (8
    conflicting, by majority)", None for the first), `rows_removed` (from the parent) and
    `quality` (what its report found, None when none was computed)."""
    from core.datasets.versions import get_report

    out, parent = [], None
    for v in lineage(ws, version):
        out.append({"version": v.number, "rows": v.rows, "source": v.source,
                    "change": (v.note or v.source) if parent is not None else None,
                    "rows_removed": parent.rows - v.rows if parent is not None else None,
                    "quality": _found(get_report(ws, v))})
        parent = v
    return out


def data_section(ws, dataset: str) -> dict | None:
    """The latest version of `dataset`: size, task, split, its own quality findings (None when
    not computed) and `history` (see `quality_history`)."""
    from core.datasets.errors import DatasetError
    from core.datasets.versions import get_report, get_split, get_version

    try:
        v = get_version(ws, dataset)
    except DatasetError:
        return None
    sp = get_split(ws, v)
    return {"version": v.number, "rows": v.rows, "task": v.mapping.task,
            "split": sp.sizes() if sp is not None else None,
            "quality": _found(get_report(ws, v)), "history": quality_history(ws, v)}


def history_markdown(d: dict) -> list[str]:
    """Markdown lines for the data section: the current findings, else the nearest ancestor's,
    and the lineage table when the version has ancestors."""
    out: list[str] = []
    history = d.get("history") or []
    if d["quality"]:
        out += ["", "| finding | value |", "|---|---|"]
        out += [f"| {k.replace('_', ' ')} | {v} |" for k, v in d["quality"].items()]
    else:
        earlier = [h for h in history[:-1] if h["quality"]]
        if earlier:
            last = earlier[-1]
            out.append(f"No quality report for version {d['version']} itself yet (the Data page "
                       f"or `ladder data report` computes one). Version {last['version']}'s "
                       "report and what each fix since changed are in the history below.")
        else:
            out.append("No quality report computed yet.")
    if len(history) > 1:
        out += ["", "Quality history (oldest first):", "",
                "| version | rows | change | conflicting labels | exact duplicates | "
                "near duplicates | empty inputs | empty targets |",
                "|---|---|---|---|---|---|---|---|"]
        for h in history:
            q = h["quality"]
            cells = ([str(q.get(k)) for k in ("conflicting_labels", "exact_duplicates",
                                                 "near_duplicates", "missing_inputs",
                                                 "missing_targets")]
                     if q else ["no report"] + [""] * 4)
            change = h["change"] or f"imported ({h['source']})"
            out.append(f"| {h['version']} | {h['rows']} | {change} | {' | '.join(cells)} |")
    return out
