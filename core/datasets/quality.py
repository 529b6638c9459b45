"""The data-quality report: every check on one dataset version, as plain JSON.

`quality_report` counts rows, missing inputs and targets, exact and near
duplicates, conflicting labels, the label distribution, token lengths,
personal data, mojibake, control characters and (with a split) leakage
between splits; each check becomes a finding with a severity and, where a
safe fix exists, the name of that fix. The result is a plain dict, so the CLI
prints it with `--json`, the Data page draws it, and SQLite stores it.

Definitions (the tests hold the report to them):
- exact duplicate: a row whose input, context and target (trimmed) equal an
  earlier row's in the same split; rows with an empty input are not counted
  (they are missing). The same row in two splits is leakage.
- conflicting labels: a group of rows with the same input (case-folded, white
  space collapsed) in the same split and more than one distinct non-empty
  target (see `conflicts`; the report says how many rows each way of resolving
  them keeps), plus, for classification and scales, a near-duplicate pair whose
  label sets differ.
- near duplicates: pairs of distinct inputs whose MiniLM cosine >= threshold.
- leakage: rows of the later split whose input equals, or is a near duplicate
  of, an input in the earlier split (train->validation, train->test, validation->test).

Trade-off: inputs are embedded once per distinct normalised text, so exact
duplicates cost nothing extra, but the MiniLM pass still dominates the run
time (100-500 texts/s on 2 cores, depending on the CPU). The vectors are kept in
memory for the next report or fix on the same texts and, when the caller gives
`vectors_path` (the service does, per dataset version and embedding engine), saved
there, so a second report on the same version embeds nothing.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from core.datasets.conflicts import conflict_groups, resolution_summary, several_references
from core.datasets.schema import Mapping
from core.datasets.similarity import best_match, near_pairs
from core.datasets.text import (
    PII_KINDS,
    find_pii,
    has_control_chars,
    has_mojibake,
    mask,
    normalise,
)
from core.datasets.tokens import count_tokens, length_stats, pick_tokenizer
from core.datasets.vector_cache import EmbedFn, embed_cached
from core.datasets.versions import Split

DEFAULT_THRESHOLD = 0.95
DEFAULT_MAX_TOKENS = 512
EXAMPLES = 20
LEAK_PAIRS = (("train", "validation"), ("train", "test"), ("validation", "test"))
Progress = Callable[[str], None]
class _Texts:
    """The distinct normalised inputs of a frame and their vectors (computed lazily)."""

    def __init__(self, inputs: list[str], embed_fn: EmbedFn | None,
                 vectors_path: Path | None = None):
        self.keys = [normalise(t) for t in inputs]
        uid: dict[str, int] = {}
        self.rep: list[str] = []
        ids = np.full(len(inputs), -1, dtype=np.int64)
        for i, k in enumerate(self.keys):
            if k:
                if k not in uid:
                    uid[k] = len(uid)
                    self.rep.append(inputs[i].strip())
                ids[i] = uid[k]
        self.ids = ids
        self.embed_fn = embed_fn
        self.vectors_path = vectors_path
        self._vecs: np.ndarray | None = None
        self.embed_s = self.load_s = 0.0

    @property
    def vecs(self) -> np.ndarray:
        if self._vecs is None:
            cached = (self.embed_fn is None and self.vectors_path is not None
                      and self.vectors_path.exists())
            if self.embed_fn is None and self.rep and not cached:
                t = time.perf_counter()
                from core.embeddings import get_model

                get_model()  # load once, timed apart from the encoding
                self.load_s = time.perf_counter() - t
            t = time.perf_counter()
            self._vecs = embed_cached(self.rep, self.embed_fn, self.vectors_path)
            self.embed_s = time.perf_counter() - t
        return self._vecs


def _col(frame: pd.DataFrame, name: str | None) -> list[str]:
    if not name:
        return [""] * len(frame)
    return ["" if v is None else str(v) for v in frame[name].tolist()]


def quality_report(frame: pd.DataFrame, mapping: Mapping, split: Split | None = None, *,
                   threshold: float = DEFAULT_THRESHOLD, max_tokens: int = DEFAULT_MAX_TOKENS,
                   model_cache=None, embed_fn: EmbedFn | None = None,
                   progress: Progress | None = None, vectors_path: Path | None = None) -> dict:
    """Run every check on `frame` and return the report (plain JSON types only)."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    n = len(frame)
    inputs, targets = _col(frame, mapping.input_col), _col(frame, mapping.target_col)
    contexts = _col(frame, mapping.context_col)
    ex: dict = {}
    r: dict = {"rows": n, "task": mapping.task, "columns": mapping.model_dump(),
               "params": {"threshold": threshold, "max_tokens": max_tokens}}

    # missing values
    empty_in = [i for i, t in enumerate(inputs) if not t.strip()]
    empty_tg = [i for i, t in enumerate(targets) if not t.strip()]
    r["missing_inputs"], r["missing_targets"] = len(empty_in), len(empty_tg)
    ex["missing_inputs"] = [i + 1 for i in empty_in[:EXAMPLES]]
    ex["missing_targets"] = [i + 1 for i in empty_tg[:EXAMPLES]]

    # exact duplicates (within a split: across splits they are leakage)
    parts = split.assignment if split is not None and len(split.assignment) == n else None
    dups = duplicate_rows(inputs, contexts, targets, parts)
    r["exact_duplicates"] = len(dups)
    ex["exact_duplicates"] = [{"row": d + 1, "same_as_row": f + 1, "input": inputs[d][:200]}
                              for d, f in list(dups.items())[:EXAMPLES]]

    # distinct inputs, their labels, conflicts on identical inputs
    say("grouping inputs")
    texts = _Texts(inputs, embed_fn, vectors_path)
    labels: dict[int, set[str]] = defaultdict(set)
    rows_of: dict[int, list[int]] = defaultdict(list)
    for i, u in enumerate(texts.ids):
        if u >= 0:
            rows_of[int(u)].append(i)
            if targets[i].strip():
                labels[int(u)].add(targets[i].strip())
    same_input = conflict_groups(texts.keys, targets, parts)
    r["conflict_resolution"] = resolution_summary(
        same_input, targets, n, parts, given_test=parts is not None and "test" in split.given,
        per_label=mapping.task in ("classification", "scale"))
    multi = mapping.task == "free_text"  # there one input's several targets are references
    r.update(several_references(same_input if multi else [], targets))
    conflicts = [{"rows": [i + 1 for i in g], "targets": sorted({targets[i].strip() for i in g}),
                  "input": inputs[g[0]].strip()[:200], "kind": "same input"}
                 for g in ([] if multi else same_input)]

    # near duplicates (and near-duplicate label conflicts)
    say(f"embedding {len(texts.rep):,} distinct inputs with MiniLM")
    vecs = texts.vecs
    say("searching near duplicates")
    t_search = time.perf_counter()
    sig_ids: dict[frozenset, int] = {}
    groups = np.array([sig_ids.setdefault(frozenset(labels[u]), len(sig_ids)) if labels[u]
                       else -1 for u in range(len(texts.rep))], dtype=np.int64)
    use_groups = mapping.task in ("classification", "scale")
    found = near_pairs(vecs, threshold, groups if use_groups else None)
    search_s = time.perf_counter() - t_search
    r["near_duplicates"] = found["count"]
    ex["near_duplicates"] = [_pair(texts, rows_of, labels, p) for p in found["pairs"][:EXAMPLES]]
    exact_conflicts = len(conflicts)
    conflicts += [dict(_pair(texts, rows_of, labels, p), kind="near-duplicate input")
                  for p in found["differing_pairs"]]
    r["conflicting_labels"] = exact_conflicts + found["differing"]
    ex["conflicting_labels"] = conflicts[:EXAMPLES]

    # labels
    if mapping.task in ("classification", "scale"):
        counts = Counter(t.strip() for t in targets if t.strip())
        r["label_counts"] = dict(counts.most_common())
        r["imbalance_ratio"] = (round(max(counts.values()) / min(counts.values()), 2)
                                if counts else None)
    else:
        r["label_counts"], r["imbalance_ratio"] = {}, None

    # lengths
    say("counting tokens")
    tok_name, tok_path, estimate = pick_tokenizer(model_cache)
    in_tok = count_tokens(inputs, tok_path)
    tg_tok = count_tokens(targets, tok_path)
    ctx_tok = count_tokens(contexts, tok_path) if mapping.context_col else np.zeros_like(in_tok)
    total = in_tok + tg_tok + ctx_tok
    long_rows = np.flatnonzero(total > max_tokens)
    r["length_outliers"] = int(len(long_rows))
    r["lengths"] = {"tokenizer": tok_name, "estimate": estimate, "max_tokens": max_tokens,
                    "input": length_stats(in_tok), "target": length_stats(tg_tok),
                    "total": length_stats(total)}
    ex["length_outliers"] = [{"row": int(i) + 1, "tokens": int(total[i])}
                             for i in long_rows[:EXAMPLES]]

    # personal data and text problems, over every mapped text column
    say("looking for personal data and text problems")
    pii_rows: dict[str, set[int]] = {k: set() for k in PII_KINDS}
    pii_ex: dict[str, list] = {k: [] for k in PII_KINDS}
    moji, ctrl = [], []
    for col_name, values in ((mapping.input_col, inputs), (mapping.context_col, contexts),
                             (mapping.target_col, targets)):
        if not col_name:
            continue
        for i, text in enumerate(values):
            for kind, matches in find_pii(text).items():
                if i not in pii_rows[kind] and len(pii_ex[kind]) < EXAMPLES:
                    pii_ex[kind].append({"row": i + 1, "column": col_name,
                                         "value": mask(matches[0])})
                pii_rows[kind].add(i)
            if has_mojibake(text):
                moji.append(i)
            if has_control_chars(text):
                ctrl.append(i)
    r["pii"] = {k: len(v) for k, v in pii_rows.items()}
    ex["pii"] = pii_ex
    moji, ctrl = sorted(set(moji)), sorted(set(ctrl))
    r["mojibake"], r["control_chars"] = len(moji), len(ctrl)
    ex["mojibake"] = [{"row": i + 1, "input": inputs[i][:200]} for i in moji[:EXAMPLES]]
    ex["control_chars"] = [{"row": i + 1, "input": repr(inputs[i][:200])} for i in ctrl[:EXAMPLES]]

    # leakage between splits
    if split is not None and len(split.assignment) == n:
        say("checking leakage between splits")
        leak = leakage(texts, split, threshold)
        r["leakage"] = {f"{a}-{b}": len(leak[(a, b)]) for a, b in LEAK_PAIRS}
        ex["leakage"] = [{"splits": f"{a}-{b}", "row": row + 1, "match_row": m + 1,
                          "similarity": s} for a, b in LEAK_PAIRS
                         for row, m, s in leak[(a, b)][:EXAMPLES]]
        r["split"] = {"sizes": split.sizes(), "val_ratio": split.val_ratio,
                      "test_ratio": split.test_ratio, "seed": split.seed,
                      "counts": split.counts}
    else:
        r["leakage"], ex["leakage"], r["split"] = {}, [], None

    r["examples"] = ex
    r["findings"] = findings(r)
    total_s = time.perf_counter() - t0
    r["timings"] = {"total_s": round(total_s, 3), "model_load_s": round(texts.load_s, 3),
                    "embed_s": round(texts.embed_s, 3),
                    "search_s": round(search_s, 3), "distinct_inputs": len(texts.rep),
                    "rows_per_s": round(n / total_s, 1) if total_s else None,
                    "embed_per_s": (round(len(texts.rep) / texts.embed_s, 1)
                                    if texts.embed_s > 0.05 else None)}
    return r


def duplicate_rows(inputs: list[str], contexts: list[str], targets: list[str],
                   parts: np.ndarray | None = None) -> dict[int, int]:
    """{duplicate row: first row with the same (input, context, target) in the same part},
    empty inputs skipped."""
    first: dict[tuple, int] = {}
    dups: dict[int, int] = {}
    for i, (a, b, c) in enumerate(zip(inputs, contexts, targets, strict=True)):
        a = a.strip()
        if not a:
            continue
        key = (a, b.strip(), c.strip(), int(parts[i]) if parts is not None else 0)
        if key in first:
            dups[i] = first[key]
        else:
            first[key] = i
    return dups


def _pair(texts: _Texts, rows_of: dict, labels: dict, p: tuple[int, int, float]) -> dict:
    a, b, sim = p
    return {"rows": [rows_of[a][0] + 1, rows_of[b][0] + 1], "similarity": sim,
            "inputs": [texts.rep[a][:200], texts.rep[b][:200]],
            "targets": [sorted(labels.get(a, ())), sorted(labels.get(b, ()))]}


def leakage(texts: _Texts, split: Split, threshold: float) -> dict:
    """{(earlier, later): [(later row, matching earlier row, similarity), ...]}."""
    out: dict = {}
    for a, b in LEAK_PAIRS:
        rows_a = [i for i in split.indices(a) if texts.ids[i] >= 0]
        rows_b = [i for i in split.indices(b) if texts.ids[i] >= 0]
        if not rows_a or not rows_b:
            out[(a, b)] = []
            continue
        u_a = np.unique(texts.ids[rows_a])
        row_for_u = {int(texts.ids[i]): int(i) for i in reversed(rows_a)}
        u_b = texts.ids[rows_b]
        idx, sim = best_match(texts.vecs[u_b], texts.vecs[u_a])
        hits = []
        for k, row in enumerate(rows_b):
            u = int(u_b[k])
            if u in row_for_u:
                hits.append((int(row), row_for_u[u], 1.0))
            elif sim[k] >= threshold:
                hits.append((int(row), row_for_u[int(u_a[idx[k]])], round(float(sim[k]), 4)))
        out[(a, b)] = hits
    return out


def leaking_train_rows(frame: pd.DataFrame, mapping: Mapping, split: Split,
                       threshold: float = DEFAULT_THRESHOLD,
                       embed_fn: EmbedFn | None = None,
                       vectors_path: Path | None = None) -> list[int]:
    """Train rows whose input equals or nearly equals a validation or test input."""
    texts = _Texts(_col(frame, mapping.input_col), embed_fn, vectors_path)
    train = np.array([i for i in split.indices("train") if texts.ids[i] >= 0], dtype=np.int64)
    held = np.array([i for i in np.flatnonzero(split.assignment > 0) if texts.ids[i] >= 0],
                    dtype=np.int64)
    if not len(train) or not len(held):
        return []
    held_u = np.unique(texts.ids[held])
    exact = np.isin(texts.ids[train], held_u)
    _, sim = best_match(texts.vecs[texts.ids[train]], texts.vecs[held_u])
    return sorted(int(i) for i in train[exact | (sim >= threshold)])


def findings(r: dict) -> list[dict]:
    """One finding per check: title, count, severity (error/warning/info/ok), message, fix."""
    cls = r["task"] in ("classification", "scale")
    out = []

    def add(check, title, count, bad, message, fix=None):
        out.append({"check": check, "title": title, "count": count,
                    "severity": bad if count else "ok", "message": message if count else "",
                    "fix": fix if count else None})

    add("missing_inputs", "Empty inputs", r["missing_inputs"], "error",
        "Rows with no input text cannot be used; drop them.", "drop_empty")
    add("missing_targets", "Empty targets", r["missing_targets"], "warning",
        "Rows with no target cannot be scored or trained on; drop or label them.", "drop_empty")
    add("exact_duplicates", "Exact duplicates", r["exact_duplicates"], "warning",
        "Repeated rows over-weight those examples; keep one of each.", "drop_duplicates")
    add("near_duplicates", "Near-duplicate pairs", r["near_duplicates"], "info",
        f"Pairs of inputs with cosine >= {r['params']['threshold']}; check they are not "
        "the same example reworded.")
    add("conflicting_labels", "Conflicting labels", r["conflicting_labels"],
        "error" if cls else "warning",
        "The same (or nearly the same) input has different targets; decide the right one.",
        "resolve_conflicts" if r["conflict_resolution"]["inputs"] else None)
    if r.get("multi_reference_inputs"):
        out.append({"check": "multi_reference_inputs", "title": "Inputs with several references",
                    "count": r["multi_reference_inputs"], "severity": "info", "fix": None,
                    "message": f"Up to {r['max_references']} references per input; each input is "
                    "scored once, against all its references."})
    ratio = r["imbalance_ratio"]
    if ratio is not None:
        sev = "warning" if ratio >= 10 else "info" if ratio >= 3 else "ok"
        out.append({"check": "imbalance_ratio", "title": "Label imbalance (largest/smallest)",
                    "count": ratio, "severity": sev, "fix": None,
                    "message": "" if sev == "ok" else
                    "Rare labels are learned poorly; collect more or weigh them."})
    add("length_outliers", "Rows over the token limit", r["length_outliers"], "warning",
        f"Longer than {r['params']['max_tokens']} tokens; they will be truncated in training.")
    for kind, n in r["pii"].items():
        add(f"pii_{kind}", f"Personal data: {kind}", n, "warning",
            "Remove or mask personal data before sending rows to a hosted model.")
    add("mojibake", "Mojibake (broken encoding)", r["mojibake"], "warning",
        "UTF-8 text was read as Latin-1 somewhere (e.g. 'cafÃ©'); fix the source export.")
    add("control_chars", "Control characters", r["control_chars"], "info",
        "Invisible control characters; remove them at the source.")
    if r["split"] is None:
        out.append({"check": "leakage", "title": "Leakage between splits", "count": None,
                    "severity": "info", "fix": None,
                    "message": "No split yet: make one to check leakage."})
    else:
        for pair, n in r["leakage"].items():
            add(f"leakage_{pair}", f"Leakage {pair.replace('-', ' -> ')}", n, "error",
                "Inputs in the later split also appear in the earlier one; scores are inflated.",
                "drop_leakage")
    return out
