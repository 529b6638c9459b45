"""Ingest: dedup by content hash, edits, all-or-nothing documents, delete, re-index, restart."""

from __future__ import annotations

import pytest

from core import retrieval as R
from core.retrieval import ingest


def _count(kb):
    return kb.collection().count()


def test_same_file_twice_stores_nothing_new(kb, docs):
    before = _count(kb)
    assert before == sum(d["chunks"] for d in R.list_documents(kb)) > 0
    again = R.add_files(kb, docs)
    assert [r.status for r in again] == ["unchanged"] * 3
    assert sum(r.added for r in again) == 0
    assert _count(kb) == before


def test_edited_file_embeds_only_new_chunks_and_drops_old_ones(kb, docs, monkeypatch):
    billing = docs[0]
    billing.write_text(billing.read_text().replace("as PDF.", "as PDF or CSV."))
    embedded = []
    real = ingest.embed_texts
    monkeypatch.setattr(ingest, "embed_texts", lambda t, *a, **k: embedded.extend(t) or real(t))
    (res,) = R.add_files(kb, [billing])
    assert res.status == "updated" and res.added == 1 and res.removed == 1
    assert embedded == [c for c in embedded if "PDF or CSV" in c]  # only the changed chunk
    texts = kb.collection().get(where={"source": "billing.md"})["documents"]
    assert any("PDF or CSV" in t for t in texts) and not any(t.endswith("as PDF.") for t in texts)


def test_failed_ingest_leaves_no_partial_document(ws, tmp_path, monkeypatch):
    kb = R.create_kb(ws, "fail", R.ChunkSettings("tokens", 16, 0))
    p = tmp_path / "long.txt"
    p.write_text(" ".join(f"Sentence {i} about refunds and invoices." for i in range(40)))
    calls = {"n": 0}
    real = ingest._add_batch

    def flaky(col, ids, *rest):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(col, ids, *rest)

    monkeypatch.setattr(ingest, "WRITE_BATCH", 5)
    monkeypatch.setattr(ingest, "_add_batch", flaky)
    with pytest.raises(R.RetrievalError, match="nothing of it was stored"):
        R.add_files(kb, [p])
    assert calls["n"] == 2  # the first batch was written, then rolled back
    assert _count(kb) == 0 and R.list_documents(kb) == []


def test_delete_document_and_reindex(kb):
    removed = R.delete_document(kb, "sync.txt")
    assert removed > 0
    kb = R.open_kb(kb.ws, "help")
    assert [d["name"] for d in R.list_documents(kb)] == ["billing.md", "login.md"]
    assert not kb.collection().get(where={"source": "sync.txt"})["ids"]
    with pytest.raises(R.RetrievalError, match="has no document 'nope.md'"):
        R.delete_document(kb, "nope.md")
    old = kb.collection_name
    kb2 = R.reindex(kb, R.ChunkSettings("tokens", 16, 4))
    assert kb2.collection_name != old and kb2.chunk.size == 16
    assert _count(kb2) == sum(d["chunks"] for d in R.list_documents(kb2)) > 6
    assert all(d["chunk_size"] == 16 for d in R.list_documents(kb2))
    assert R.search(kb2, "locked account", 1)[0].source == "login.md"


def test_persistence_across_a_restart(kb):
    import chromadb.api.client

    from core.retrieval import store

    n = _count(kb)
    store._clients.clear()
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    from core.workspace import open_workspace

    kb2 = R.open_kb(open_workspace(), "help")
    assert _count(kb2) == n
    assert R.search(kb2, "refund to my card", 1)[0].source == "billing.md"


def test_kb_names_and_duplicates(ws):
    with pytest.raises(R.RetrievalError, match="not a usable knowledge-base name"):
        R.create_kb(ws, "bad name!")
    R.create_kb(ws, "one")
    with pytest.raises(R.RetrievalError, match="already exists"):
        R.create_kb(ws, "one")
    with pytest.raises(R.RetrievalError, match="no knowledge base 'two'"):
        R.open_kb(ws, "two")
