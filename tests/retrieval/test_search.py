"""Search: fields best first, threshold, hybrid (BM25 + RRF) and MMR on constructed cases, recall."""

from __future__ import annotations

import numpy as np
import pytest

from core import retrieval as R
from core.retrieval.ranking import BM25, mmr, rrf
from tests.retrieval.conftest import write_docs


def test_results_have_fields_best_first(kb):
    hits = R.search(kb, "my account is locked after failed sign-in attempts", 3)
    assert len(hits) == 3 and hits[0].source == "login.md"
    assert "Locked out" in hits[0].heading and "AUTH-429" in hits[0].document
    assert [h.rank for h in hits] == [1, 2, 3]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    rec = hits[0].record()
    assert {"id", "document", "source", "score", "similarity", "position"} <= set(rec)
    assert 0 < rec["similarity"] <= 1 and rec["score"] == rec["similarity"]


def test_threshold_drops_weak_matches(kb):
    hits = R.search(kb, "refund", 10)
    cut = hits[1].similarity
    kept = R.search(kb, "refund", 10, threshold=cut)
    assert kept and all(h.similarity >= cut for h in kept) and len(kept) < len(hits)


def test_hybrid_finds_an_exact_code_that_vectors_blur(ws, tmp_path):
    docs = {f"note{i}.txt": f"General note {i} about syncing notes between devices and the "
                            "cloud, with tips for slow connections." for i in range(8)}
    docs["codes.txt"] = "Reference table: QX-7741 appears when the import file is too large."
    kb = R.create_kb(ws, "codes")
    R.add_files(kb, write_docs(tmp_path / "c", docs))
    query = "notes do not sync between my devices, I see QX-7741"
    vector = [h.source for h in R.search(kb, query, 9)]
    hybrid = R.search(kb, query, 9, hybrid=True)
    code = next(h for h in hybrid if h.source == "codes.txt")
    assert "BM25 rank 1" in code.why and code.method == "hybrid"
    assert code.rank < vector.index("codes.txt") + 1  # keyword evidence lifts it
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)
    assert hybrid[0].score <= 2 / 61 + 1e-6  # RRF with k=60: at most 1/61 per ranking


def test_mmr_prefers_a_different_chunk_over_a_near_duplicate(ws, tmp_path):
    same = "Refunds are paid to the original card within 14 days of the request."
    docs = {"a.txt": same, "b.txt": same + " ", "c.txt": same.replace("14", "fourteen"),
            "d.txt": "Refunds for App Store purchases are handled by Apple, not by us."}
    kb = R.create_kb(ws, "dupes")
    R.add_files(kb, write_docs(tmp_path / "d", docs))
    plain = R.search(kb, "how are refunds paid", 2)
    assert {h.source for h in plain} <= {"a.txt", "b.txt", "c.txt"}
    diverse = R.search(kb, "how are refunds paid", 2, mmr_diversity=True, mmr_lambda=0.5)
    assert "d.txt" in {h.source for h in diverse} and diverse[0].method == "mmr"
    assert diverse[0].score >= diverse[1].score


def test_bad_queries_and_empty_kb(ws, kb):
    empty = R.create_kb(ws, "empty")
    with pytest.raises(R.RetrievalError, match="has no documents yet"):
        R.search(empty, "anything")
    with pytest.raises(R.RetrievalError, match="query is empty"):
        R.search(kb, "  ")
    with pytest.raises(R.RetrievalError, match="out of range"):
        R.search(kb, "refund", 0)


def test_recall_check_and_ef_search(kb):
    rep = R.recall_check(kb, sample=20, k=3)
    assert rep["recall"] == 1.0 and rep["ok"] and rep["ef_search"] == R.DEFAULT_EF_SEARCH
    kb2 = R.set_ef_search(kb, 400)
    assert kb2.ef_search == 400
    assert kb2.collection().configuration["hnsw"]["ef_search"] == 400
    with pytest.raises(R.RetrievalError, match="out of range"):
        R.set_ef_search(kb2, 0)


def test_ranking_helpers_on_constructed_cases():
    bm = BM25(["apple pie recipe", "apple apple apple", "banana bread"])
    assert [i for i, _ in bm.top("apple", 5)] == [1, 0]
    assert bm.top("cherry", 5) == []
    fused = rrf([["x", "y", "z"], ["y", "z"]])
    assert max(fused, key=fused.get) == "y"
    v = np.eye(3, dtype=np.float32)
    v[1] = v[0] * 0.999 + 0.0447 * np.eye(3)[1]
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    q = np.array([1.0, 0.0, 0.3], dtype=np.float32)
    assert [i for i, *_ in mmr(q, v, 2, lam=1.0)] == [0, 1]
    assert [i for i, *_ in mmr(q, v, 2, lam=0.5)] == [0, 2]
