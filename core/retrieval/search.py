"""Search a knowledge base: top-k by cosine, threshold, hybrid BM25 + vector (RRF), MMR, recall.

`search` asks chroma's HNSW index for the nearest chunks of the query's MiniLM
vector; similarity is reported as cosine (1 - chroma's cosine distance).
Options widen the candidate pool (`fetch_k`) and re-rank it:

* ``hybrid``: BM25 over all chunk texts and the vector ranking are fused with
  reciprocal rank fusion (k=60); catches exact codes such as "AUTH-429" that
  embeddings blur. The score is then the RRF score.
* ``mmr``: maximal marginal relevance picks relevant but mutually different
  chunks; the score is the MMR objective (non-increasing in pick order).
* ``threshold``: chunks below this cosine similarity are dropped.

`recall_check` measures what the approximate index costs: recall@k of HNSW
against exact numpy search over the stored vectors, on in-distribution queries.
docs/platform-notes.md: recall@5 was 0.52 at chroma's default ef_search=100 on hard
data, so knowledge bases are created with a wider ef_search and the check says
how far to raise it when recall is low.

Trade-off: hybrid search and the recall check load every stored chunk once per
knowledge-base revision (cached in memory, ~30 MB per 20,000 chunks) instead of
keeping a second persistent index.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np

from core.retrieval.errors import RetrievalError
from core.retrieval.ranking import BM25, exact_top_k, mmr, rrf
from core.retrieval.store import KnowledgeBase

RRF_K = 60
_snapshots: OrderedDict[tuple, Snapshot] = OrderedDict()
_snap_lock = threading.Lock()


@dataclass
class Hit:
    id: str
    document: str  # the chunk text
    source: str  # the document (file) it comes from
    score: float  # what ranks: cosine, RRF or MMR score (see `method`)
    similarity: float  # cosine similarity with the query, always
    rank: int  # 1 = best
    position: int  # chunk number within its document, from 0
    unit: int  # page or row number (from 0) for PDF / CSV, else 0
    unit_label: str  # "page", "row" or ""
    heading: str
    method: str  # vector, hybrid or mmr (+hybrid)
    why: str  # how it got its rank, in words

    def record(self) -> dict:
        return asdict(self)

    @property
    def where(self) -> str:
        """Where to find it: 'faq.md › Refunds · chunk 3' or 'guide.pdf · page 2 · chunk 7'."""
        parts = [self.source + (f" › {self.heading}" if self.heading else "")]
        if self.unit_label:
            parts.append(f"{self.unit_label} {self.unit + 1}")
        parts.append(f"chunk {self.position + 1}")
        return " · ".join(parts)


@dataclass
class Snapshot:
    ids: list[str]
    texts: list[str]
    metas: list[dict]
    vecs: np.ndarray  # (n, 384) float32, unit length
    _bm25: BM25 | None = None

    @property
    def bm25(self) -> BM25:
        if self._bm25 is None:
            self._bm25 = BM25(self.texts)
        return self._bm25


def snapshot(kb: KnowledgeBase, col=None) -> Snapshot:
    """All stored chunks with their vectors, cached per knowledge-base revision."""
    col = col if col is not None else kb.collection()
    key = (str(kb.ws.settings.root), kb.collection_name, kb.revision, col.count())
    with _snap_lock:
        if key in _snapshots:
            _snapshots.move_to_end(key)
            return _snapshots[key]
    ids, texts, metas, vecs = [], [], [], []
    page = 5000
    for offset in range(0, key[-1], page):
        got = col.get(include=["documents", "metadatas", "embeddings"], limit=page,
                      offset=offset)
        ids += got["ids"]
        texts += got["documents"]
        metas += got["metadatas"]
        vecs.append(np.asarray(got["embeddings"], dtype=np.float32).reshape(-1, 384))
    mat = np.concatenate(vecs) if vecs else np.zeros((0, 384), dtype=np.float32)
    snap = Snapshot(ids, texts, metas, mat)
    with _snap_lock:
        _snapshots[key] = snap
        while len(_snapshots) > 4:
            _snapshots.popitem(last=False)
    return snap


def _query_vector(query: str):
    from core.embeddings import embed

    return embed([query])[0]


def _check(kb: KnowledgeBase, query: str, k: int):
    """The collection and its size, after checking the query and k."""
    if not isinstance(query, str) or not query.strip():
        raise RetrievalError("the query is empty; type what you are looking for.")
    if not 1 <= k <= 200:
        raise RetrievalError(f"k={k} is out of range; ask for 1 to 200 results, e.g. -k 5.")
    col = kb.collection()
    n = col.count()
    if n == 0:
        raise RetrievalError(f"knowledge base '{kb.name}' has no documents yet, so there is "
                             f"nothing to search; add some with `ladder kb add {kb.name} FILE`.")
    return col, n


def search(kb: KnowledgeBase, query: str, k: int = 5, *, threshold: float | None = None,
           hybrid: bool = False, mmr_diversity: bool = False, mmr_lambda: float = 0.7,
           fetch_k: int | None = None, query_vec: np.ndarray | None = None) -> list[Hit]:
    """The best chunks for a query, best first (see the module docstring for the options)."""
    col, n = _check(kb, query, k)
    if threshold is not None and not -1.0 <= threshold <= 1.0:
        raise RetrievalError(f"threshold {threshold} is not a cosine similarity; give a value "
                             "between 0 and 1, e.g. 0.3.")
    qv = np.asarray(_query_vector(query) if query_vec is None else query_vec, dtype=np.float32)
    widen = hybrid or mmr_diversity or threshold is not None
    pool = min(n, max(fetch_k or 0, 4 * k, 20) if widen else k)
    got = col.query(query_embeddings=[qv], n_results=pool,
                                include=["documents", "metadatas", "distances", "embeddings"])
    cands: dict[str, dict] = {}
    for r, (cid, text, meta, dist, vec) in enumerate(zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0],
            got["embeddings"][0], strict=True), 1):
        cands[cid] = {"text": text, "meta": meta, "sim": 1.0 - float(dist), "vrank": r,
                      "vec": np.asarray(vec, dtype=np.float32)}
    order = list(cands)
    method = "vector"
    if hybrid:
        method = "hybrid"
        snap = snapshot(kb, col)
        lexical = snap.bm25.top(query, pool)
        for r, (i, score) in enumerate(lexical, 1):
            c = cands.setdefault(snap.ids[i], {
                "text": snap.texts[i], "meta": snap.metas[i], "vrank": None,
                "sim": float(snap.vecs[i] @ qv), "vec": snap.vecs[i]})
            c["brank"], c["bm25"] = r, score
        fused = rrf([order, [snap.ids[i] for i, _ in lexical]], RRF_K)
        for cid, score in fused.items():
            cands[cid]["score"] = score
        order = sorted(fused, key=lambda c: -fused[c])
    else:
        for c in cands.values():
            c["score"] = c["sim"]
    if threshold is not None:
        order = [c for c in order if cands[c]["sim"] >= threshold]
    if mmr_diversity and order:
        method = "mmr" + ("+hybrid" if hybrid else "")
        vecs = np.stack([cands[c]["vec"] for c in order])
        rel = np.array([cands[c]["sim"] for c in order])
        picked = mmr(qv, vecs, k, mmr_lambda, relevance=rel)
        for i, score, overlap in picked:
            cands[order[i]]["score"] = score
            cands[order[i]]["overlap"] = overlap
        order = [order[i] for i, *_ in picked]
    return [_hit(cid, cands[cid], rank, method, mmr_lambda)
            for rank, cid in enumerate(order[:k], 1)]


def _why(c: dict, method: str, lam: float) -> str:
    parts = [f"cosine {c['sim']:.3f}"]
    parts.append(f"vector rank {c['vrank']}" if c.get("vrank") else "not in the vector top")
    if method.endswith("hybrid") or method == "hybrid":
        parts.append(f"BM25 rank {c['brank']} ({c['bm25']:.2f})" if c.get("brank")
                     else "no keyword match")
    if method.startswith("mmr"):
        parts.append(f"max cosine to earlier picks {c.get('overlap', 0.0):.3f} "
                     f"(MMR λ={lam:g})")
    return "; ".join(parts)


def _hit(cid: str, c: dict, rank: int, method: str, lam: float) -> Hit:
    m = c["meta"] or {}
    return Hit(id=cid, document=c["text"], source=m.get("source", ""),
               score=round(float(c["score"]), 6), similarity=round(c["sim"], 6), rank=rank,
               position=int(m.get("position", 0)), unit=int(m.get("unit", 0)),
               unit_label=m.get("unit_label", ""), heading=m.get("heading", ""), method=method,
               why=_why(c, method, lam))


def recall_check(kb: KnowledgeBase, sample: int = 200, k: int = 5, seed: int = 0) -> dict:
    """Recall@k of the HNSW index against exact search, on `sample` queries.

    Queries are midpoints of random pairs of stored chunk vectors: they look
    like real queries (near the content) without being a stored point, which
    would be found trivially. A neighbour tied with the exact k-th is counted
    as found.
    """
    col, _ = _check(kb, "recall check", k)
    snap = snapshot(kb, col)
    n = len(snap.ids)
    rng = np.random.default_rng(seed)
    m = max(1, min(sample, n))
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    q = snap.vecs[a] + snap.vecs[b]
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    t0 = time.perf_counter()
    exact_idx, exact_sims = exact_top_k(q, snap.vecs, k)
    exact_ms = (time.perf_counter() - t0) * 1000 / m
    pos = {cid: i for i, cid in enumerate(snap.ids)}
    t0 = time.perf_counter()
    got = col.query(query_embeddings=q, n_results=min(k, n), include=[])
    hnsw_ms = (time.perf_counter() - t0) * 1000 / m
    found = 0
    for row, ids in enumerate(got["ids"]):
        kth = exact_sims[row, -1] - 1e-5
        sims = snap.vecs[[pos[c] for c in ids]] @ q[row] if ids else np.zeros(0)
        found += min(int((sims >= kth).sum()), exact_idx.shape[1])
    recall = found / (m * exact_idx.shape[1])
    ok = recall >= 0.95
    advice = (f"recall is fine at ef_search={kb.ef_search}." if ok else
              f"recall@{k} {recall:.2f} is below 0.95: raise ef_search (now {kb.ef_search}) to "
              f"{min(kb.ef_search * 2, 10_000)} with `ladder kb ef-search {kb.name} "
              f"{min(kb.ef_search * 2, 10_000)}` or the knob on the page, then check again.")
    return {"knowledge_base": kb.name, "recall": round(recall, 4), "k": k, "sample": m,
            "chunks": n, "ef_search": kb.ef_search, "ok": ok, "hnsw_ms_per_query":
            round(hnsw_ms, 3), "exact_ms_per_query": round(exact_ms, 3), "advice": advice}
