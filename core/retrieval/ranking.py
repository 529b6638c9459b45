"""Ranking helpers without a vector store: BM25, reciprocal rank fusion, MMR, exact top-k.

Pure numpy and standard library, so each is testable on constructed cases and
reusable by the recall check and the benchmark.

Trade-off: BM25 is an in-memory inverted index rebuilt from the stored chunks
(about a second per 20,000 chunks on two cores) and cached per knowledge-base
revision, instead of a persistent full-text index; simple, and good enough for
the sizes one analyst indexes.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens for BM25.

    >>> words("AUTH-429: Too many attempts!")
    ['auth', '429', 'too', 'many', 'attempts']
    """
    return _WORD.findall(text.lower())


class BM25:
    """Okapi BM25 (k1=1.5, b=0.75, idf = ln(1 + (N - df + .5) / (df + .5))).

    >>> bm = BM25(["refund my order", "reset password", "refund refund policy"])
    >>> [i for i, _ in bm.top("refund", 5)]
    [2, 0]
    """

    def __init__(self, texts: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.n = len(texts)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(self.n, dtype=np.float64)
        for i, text in enumerate(texts):
            counts = Counter(words(text))
            lengths[i] = sum(counts.values())
            for w, tf in counts.items():
                docs, tfs = postings.setdefault(w, ([], []))
                docs.append(i)
                tfs.append(tf)
        avgdl = float(lengths.mean()) if self.n else 1.0
        self.norm = k1 * (1 - b + b * lengths / max(avgdl, 1e-9))
        self.k1 = k1
        self.index = {w: (np.array(d, dtype=np.int64), np.array(t, dtype=np.float64),
                          math.log(1 + (self.n - len(d) + 0.5) / (len(d) + 0.5)))
                      for w, (d, t) in postings.items()}

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float64)
        for w in set(words(query)):
            if w in self.index:
                docs, tfs, idf = self.index[w]
                out[docs] += idf * tfs * (self.k1 + 1) / (tfs + self.norm[docs])
        return out

    def top(self, query: str, n: int) -> list[tuple[int, float]]:
        """Up to n (index, score) with a positive score, best first."""
        s = self.scores(query)
        hits = np.flatnonzero(s > 0)
        if len(hits) > n:
            hits = hits[np.argpartition(-s[hits], n - 1)[:n]]
        hits = hits[np.argsort(-s[hits], kind="stable")]
        return [(int(i), float(s[i])) for i in hits]


def rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: sum over rankings of 1 / (k + rank), rank from 1.

    >>> sorted(rrf([["a", "b"], ["b", "c"]]).items(), key=lambda x: -x[1])[0][0]
    'b'
    """
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, 1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def mmr(query: np.ndarray, vecs: np.ndarray, k: int, lam: float = 0.5,
        relevance: np.ndarray | None = None) -> list[tuple[int, float, float]]:
    """Maximal marginal relevance over unit vectors: (index, mmr score, max sim to picked).

    Picks greedily the candidate maximising lam * relevance - (1 - lam) * (its
    highest cosine with anything already picked). lam=1 is plain relevance order.

    >>> v = np.array([[1, 0], [0.995, 0.0998], [0, 1]], dtype=np.float32)
    >>> q = np.array([0.9, 0.436], dtype=np.float32)
    >>> [i for i, *_ in mmr(q, v, 2, lam=1.0)], [i for i, *_ in mmr(q, v, 2, lam=0.5)]
    ([1, 0], [1, 2])
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError("the MMR lambda must be between 0 and 1")
    rel = vecs @ query if relevance is None else np.asarray(relevance, dtype=np.float64)
    picked: list[tuple[int, float, float]] = []
    max_sim = np.full(len(vecs), -np.inf)
    free = np.ones(len(vecs), dtype=bool)
    for _ in range(min(k, len(vecs))):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        score = np.where(free, lam * rel - (1 - lam) * penalty, -np.inf)
        i = int(np.argmax(score))
        picked.append((i, float(score[i]), float(penalty[i])))
        free[i] = False
        max_sim = np.maximum(max_sim, vecs @ vecs[i])
    return picked


def exact_top_k(queries: np.ndarray, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosines of the k nearest stored vectors for each query (brute force)."""
    sims = queries @ vecs.T
    k = min(k, vecs.shape[0])
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    part = np.take_along_axis(sims, idx, axis=1)
    order = np.argsort(-part, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(part, order, axis=1)
