"""Near-duplicate search over normalised sentence embeddings, in bounded memory.

Vectors are L2-normalised, so cosine similarity is a dot product. The n x n
similarity matrix is never built: it is computed one tile of `block` x
`block` at a time (16 MB for 2048 x 2048 float32), only on or above the
diagonal, and each tile is reduced at once to a pair count and the pairs
worth showing. 50,000 texts are about 300 tiles.

Trade-off: exact search costs O(n^2) dot products where an approximate index
(HNSW in chromadb) would be sub-quadratic; at the sizes a fine-tuning set has
(up to ~10^5 rows) the exact search takes seconds on two cores and never
misses a pair, which an approximate index does (docs/platform-notes.md: recall 0.52 at
chroma's default `ef_search`).
"""

from __future__ import annotations

import numpy as np

BLOCK = 2048


def near_pairs(vecs: np.ndarray, threshold: float, groups: np.ndarray | None = None,
               keep: int = 500, block: int = BLOCK) -> dict:
    """Pairs (i < j) with cosine >= threshold.

    `groups` (an int per vector, e.g. an id of its label set; negative for none)
    additionally counts the pairs whose groups differ, both being non-negative. Returns {"count", "differing", "pairs",
    "differing_pairs"}; the pair lists hold at most `keep` (i, j, sim) each,
    most similar first.

    >>> v = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    >>> near_pairs(v, 0.9)["count"]
    1
    """
    n = len(vecs)
    count = differing = 0
    pairs: list[tuple[int, int, float]] = []
    diff_pairs: list[tuple[int, int, float]] = []
    for r0 in range(0, n, block):
        a = vecs[r0:r0 + block]
        for c0 in range(r0, n, block):
            sims = a @ vecs[c0:c0 + block].T
            if c0 == r0:
                sims = np.triu(sims, k=1) if len(sims) > 1 else np.zeros_like(sims)
            ii, jj = np.nonzero(sims >= threshold)
            if not len(ii):
                continue
            count += len(ii)
            vals = sims[ii, jj]
            gi, gj = ii + r0, jj + c0
            pairs = _top(pairs, gi, gj, vals, keep)
            if groups is not None:
                a_g, b_g = groups[gi], groups[gj]
                d = (a_g != b_g) & (a_g >= 0) & (b_g >= 0)
                differing += int(d.sum())
                if d.any():
                    diff_pairs = _top(diff_pairs, gi[d], gj[d], vals[d], keep)
    return {"count": count, "differing": differing, "pairs": pairs, "differing_pairs": diff_pairs}


def _top(current: list, gi: np.ndarray, gj: np.ndarray, vals: np.ndarray, keep: int) -> list:
    if len(current) >= keep and len(vals) and vals.max() <= current[-1][2]:
        return current
    if len(vals) > keep:
        best = np.argpartition(-vals, keep - 1)[:keep]
        gi, gj, vals = gi[best], gj[best], vals[best]
    merged = current + [(int(i), int(j), round(float(s), 4)) for i, j, s in zip(gi, gj, vals,
                                                                                strict=True)]
    merged.sort(key=lambda p: -p[2])
    return merged[:keep]


def best_match(queries: np.ndarray, corpus: np.ndarray, block: int = BLOCK) -> tuple[np.ndarray,
                                                                                    np.ndarray]:
    """For each query vector: the index of and cosine with its most similar corpus vector.

    >>> q = np.array([[1, 0]], dtype=np.float32); c = np.array([[0, 1], [1, 0]], dtype=np.float32)
    >>> best_match(q, c)
    (array([1]), array([1.], dtype=float32))
    """
    best_sim = np.full(len(queries), -np.inf, dtype=np.float32)
    best_idx = np.full(len(queries), -1, dtype=np.int64)
    if len(corpus) == 0 or len(queries) == 0:
        return best_idx, best_sim
    for q0 in range(0, len(queries), block):
        q = queries[q0:q0 + block]
        for c0 in range(0, len(corpus), block):
            sims = q @ corpus[c0:c0 + block].T
            arg = sims.argmax(axis=1)
            val = sims[np.arange(len(q)), arg]
            better = val > best_sim[q0:q0 + len(q)]
            best_sim[q0:q0 + len(q)][better] = val[better]
            best_idx[q0:q0 + len(q)][better] = arg[better] + c0
    return best_idx, best_sim
