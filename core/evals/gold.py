"""Retrieval measured on a question set: did the knowledge base return the gold passage?

When a dataset's rows carry the passage each question was asked about (its context column)
and a knowledge base holds those passages, two numbers tell the user whether to fix
retrieval or the model:

- hit@k and MRR of the knowledge base's search for each row's input against the row's gold
  passage (`core.retrieval.dynamic.is_hit`: same document, or one text inside the other);
- the answer score of an evaluation run split by "gold passage retrieved / not retrieved":
  a model that answers well when the passage is there and badly when it is not needs
  better retrieval; one that answers badly either way needs a better model or prompt.

Used by `ladder kb recall NAME --data DATASET` and the Dynamic prompts page.
"""

from __future__ import annotations

import math

from core.evals.errors import EvalError


def gold_recall(ws, kb_name: str, dataset: str, split: str = "test", k: int = 3,
                limit: int | None = None, run_id: int | None = None) -> dict:
    """Hit@k and MRR against each row's gold passage, with the rows' ranks; with `run_id`
    (an evaluation run on the same dataset) each model and variant's mean score where the
    gold passage was in the top k and where it was not."""
    from core.embeddings import embed
    from core.evals.rows import load_rows
    from core.retrieval.dynamic import first_hit, hit_rate_at_k, mrr
    from core.retrieval.search import search
    from core.retrieval.store import open_kb

    data = load_rows(ws, dataset, split, limit=limit)
    col = data.version.mapping.context_col
    if not col:
        raise EvalError(f"'{dataset}' has no context column, so there is no gold passage to "
                        "find; import it with --context-col COL (the passage each row was "
                        "asked about).")
    kb = open_kb(ws, kb_name)
    rows = [r for r in data.rows if r["context"].strip()]
    if not rows:
        raise EvalError(f"no {split} row of '{dataset}' has a passage in its context column "
                        f"'{col}'; nothing to measure.")
    vecs = embed([r["input"] for r in rows])
    found = [search(kb, r["input"], k, query_vec=v) for r, v in zip(rows, vecs, strict=True)]
    refs = [r["context"] for r in rows]
    ranks = {r["row_id"]: first_hit(hits, ref, k)
             for r, hits, ref in zip(rows, found, refs, strict=True)}
    out = {"kb": kb_name, "dataset": dataset, "split": split, "k": k, "n": len(rows),
           "hit_rate": hit_rate_at_k(found, refs, k), "mrr": mrr(found, refs, k),
           "ranks": {str(i): rank for i, rank in ranks.items()}, "run_id": run_id,
           "by_retrieval": []}
    if run_id is not None:
        out["by_retrieval"] = score_by_retrieval(ws, run_id, ranks)
    return out


def score_by_retrieval(ws, run_id: int, ranks: dict[int, int | None]) -> list[dict]:
    """Each model and variant's mean score on the rows whose gold passage was retrieved and
    on those whose was not (rows the ranks do not cover are left out)."""
    from core.evals.store import cells_frame, get_run

    get_run(ws, run_id)  # an unknown run is refused with its message
    cells = cells_frame(ws, run_id)
    cells = cells[cells["row_id"].isin(list(ranks)) & cells["score"].notna()]
    if cells.empty:
        raise EvalError(f"run #{run_id} has no scored rows among the rows measured; run it on "
                        "the same dataset and split.")
    out = []
    for (model, variant), g in cells.groupby(["model_id", "variant"], sort=True):
        got = g["row_id"].map(lambda i: ranks.get(int(i)) is not None)
        yes, no = g[got]["score"], g[~got]["score"]
        mean = lambda s: float(s.mean()) if len(s) else math.nan  # noqa: E731
        out.append({"model": model, "variant": variant, "retrieved_n": int(len(yes)),
                    "retrieved_score": mean(yes), "missed_n": int(len(no)),
                    "missed_score": mean(no)})
    return out


def advice(rec: dict) -> str:
    """One sentence: fix retrieval or the model."""
    k, rate = rec["k"], rec["hit_rate"]
    text = (f"The gold passage is in the top {k} for {rate:.0%} of {rec['n']} questions "
            f"(MRR {rec['mrr']:.2f}).")
    for s in rec["by_retrieval"]:
        if s["retrieved_n"] and s["missed_n"]:
            gap = s["retrieved_score"] - s["missed_score"]
            text += (f" {s['model']} / {s['variant']}: {s['retrieved_score']:.2f} when it was "
                     f"retrieved, {s['missed_score']:.2f} when not"
                     + (" - better retrieval would pay." if gap > 0.05 else
                        " - retrieval is not what holds it back."))
    if rate < 0.6:
        text += (" Retrieval misses often: try more chunks (--kb-k), hybrid search, or smaller "
                 "chunks (`ladder kb reindex`).")
    return text
