"""Add, replace, delete and re-index documents of a knowledge base, each all or nothing.

A chunk's id is the sha256 of its document name and its text. Adding a
document therefore stores only chunks not already there: the same file twice
stores nothing new, an edited file embeds only its changed chunks (and the
chunks it no longer has are removed), and unchanged chunks are never
re-embedded. The same text in two different documents is stored once per
document, so deleting one document never takes a chunk from another.

Each document is added whole or not at all: its chunks are embedded first,
then written in batches; if any batch, the metadata update or the SQLite
record fails, every chunk added for that document is deleted again and the
previous version (if any) is left as it was.

Trade-off: ids scoped by document cost a little space when documents repeat
each other, in exchange for deletes that are exact and need no reference
counting.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.retrieval.chunking import Chunk, ChunkSettings, chunk_units
from core.retrieval.errors import RetrievalError
from core.retrieval.loaders import LoadedDocument, load_path
from core.retrieval.store import (
    KnowledgeBase,
    drop_collection,
    get_collection,
    new_collection_name,
    open_kb,
)

Progress = Callable[[str, float], None]
EMBED_BATCH = 256
WRITE_BATCH = 2048


@dataclass
class AddResult:
    document: str
    kind: str
    status: str  # added, updated or unchanged
    chunks: int
    added: int
    skipped: int
    removed: int

    def record(self) -> dict:
        return asdict(self)


def chunk_id(document: str, text: str) -> str:
    """The content-hash id of a chunk within a document.

    >>> chunk_id("faq.md", "Refunds take 5 days.")[:12]
    'e757a8fad393'
    """
    return hashlib.sha256(f"{document}\x00{text}".encode()).hexdigest()[:32]


def _metadata(doc: LoadedDocument, c: Chunk, path: str) -> dict:
    return {"source": doc.name, "path": path, "kind": doc.kind, "position": c.position,
            "unit": c.unit, "unit_label": doc.unit_label, "start": c.start,
            "heading": c.heading, "tokens": c.tokens}


def _unique_chunks(doc: LoadedDocument, chunk: ChunkSettings) -> tuple[list[str], list[Chunk]]:
    ids, chunks, seen = [], [], set()
    for c in chunk_units(doc.units, chunk):
        cid = chunk_id(doc.name, c.text)
        if cid not in seen:  # a repeated passage inside one document is kept once
            seen.add(cid)
            ids.append(cid)
            chunks.append(c)
    if not chunks:
        raise RetrievalError(f"{doc.name} gave no chunks (no text after cleaning); check the file.")
    return ids, chunks


def embed_texts(texts: list[str], progress: Progress | None = None,
                what: str = "Embedding") -> np.ndarray:
    from core.embeddings import embed

    out = np.empty((len(texts), 384), dtype=np.float32)
    for start in range(0, len(texts), EMBED_BATCH):
        out[start:start + EMBED_BATCH] = embed(texts[start:start + EMBED_BATCH])
        if progress:
            done = min(start + EMBED_BATCH, len(texts))
            progress(f"{what}: {done}/{len(texts)} chunks", done / max(len(texts), 1))
    return out


def _add_batch(col, ids, vectors, texts, metas) -> None:
    col.add(ids=ids, embeddings=vectors, documents=texts, metadatas=metas)


def _write(col, doc, ids, chunks, vectors, path) -> None:
    """Add chunks in batches; on failure delete what this call added and raise."""
    try:
        for s in range(0, len(ids), WRITE_BATCH):
            part = slice(s, s + WRITE_BATCH)
            _add_batch(col, ids[part], vectors[part], [c.text for c in chunks[part]],
                       [_metadata(doc, c, path) for c in chunks[part]])
    except Exception as e:
        _delete_ids(col, ids)
        raise RetrievalError(f"adding {doc.name} failed while writing vectors ({type(e).__name__}:"
                             f" {e}); nothing of it was stored. Try again; if it keeps failing, "
                             "check the vector store (LADDER_CHROMA_URL or the workspace).") from e


def _delete_ids(col, ids: list[str]) -> None:
    for s in range(0, len(ids), WRITE_BATCH):
        try:
            col.delete(ids=ids[s:s + WRITE_BATCH])
        except Exception:  # best effort: the caller is already reporting a failure
            pass


def add_document(kb: KnowledgeBase, doc: LoadedDocument, chunk: ChunkSettings | None = None,
                 *, path: str = "", progress: Progress | None = None) -> AddResult:
    """Add or replace one document; only chunks not stored yet are embedded."""
    chunk = chunk or kb.chunk
    col = kb.collection()
    ids, chunks = _unique_chunks(doc, chunk)
    stored = set(col.get(where={"source": doc.name}, include=[])["ids"])
    new = [i for i, cid in enumerate(ids) if cid not in stored]
    stale = sorted(stored - set(ids))
    if not new and not stale and _same_record(kb, doc, chunk):
        return AddResult(doc.name, doc.kind, "unchanged", len(ids), 0, len(ids), 0)
    new_ids = [ids[i] for i in new]
    vectors = embed_texts([chunks[i].text for i in new], progress, f"Embedding {doc.name}")
    if progress:
        progress(f"Storing {doc.name}", 1.0)
    _write(col, doc, new_ids, [chunks[i] for i in new], vectors, path or doc.name)
    try:
        kept = [i for i, cid in enumerate(ids) if cid in stored]
        for s in range(0, len(kept), WRITE_BATCH):  # positions may have moved in an edit
            part = kept[s:s + WRITE_BATCH]
            col.update(ids=[ids[i] for i in part],
                       metadatas=[_metadata(doc, chunks[i], path or doc.name) for i in part])
        existed = _save_record(kb, doc, chunk, len(ids), path or doc.name)
    except Exception as e:
        _delete_ids(col, new_ids)
        if isinstance(e, RetrievalError):
            raise
        raise RetrievalError(f"adding {doc.name} failed ({type(e).__name__}: {e}); nothing of it "
                             "was stored. Try again.") from e
    _delete_ids(col, stale)
    status = "updated" if existed else "added"
    return AddResult(doc.name, doc.kind, status, len(ids), len(new_ids), len(ids) - len(new_ids),
                     len(stale))


def _same_record(kb, doc, chunk) -> bool:
    rows = kb.ws.db.query("SELECT sha256, chunk_mode, chunk_size, chunk_overlap FROM kb_documents"
                          " WHERE kb = ? AND name = ?", (kb.name, doc.name))
    return bool(rows) and tuple(rows[0]) == (doc.sha256, chunk.mode, chunk.size, chunk.overlap)


def _save_record(kb, doc: LoadedDocument, chunk: ChunkSettings, n: int, path: str) -> bool:
    now = time.time()
    with kb.ws.db.connect() as c:
        existed = c.execute("SELECT 1 FROM kb_documents WHERE kb = ? AND name = ?",
                            (kb.name, doc.name)).fetchone() is not None
        c.execute("INSERT OR REPLACE INTO kb_documents (kb, name, kind, source, sha256, bytes,"
                  " units, chunk_mode, chunk_size, chunk_overlap, chunks, added_at, updated_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT added_at FROM"
                  " kb_documents WHERE kb = ? AND name = ?), ?), ?)",
                  (kb.name, doc.name, doc.kind, path, doc.sha256, doc.size,
                   json.dumps(doc.units, ensure_ascii=False), chunk.mode, chunk.size,
                   chunk.overlap, n, kb.name, doc.name, now, now))
        _touch(c, kb.name, now)
    return existed


def _touch(c, name: str, now: float) -> None:
    c.execute("UPDATE knowledge_bases SET revision = revision + 1, updated_at = ? WHERE name = ?",
              (now, name))


def add_files(kb: KnowledgeBase, paths: list[str | Path], chunk: ChunkSettings | None = None,
              progress: Progress | None = None) -> list[AddResult]:
    """Load every file first (so a bad one stops the command before anything is written),
    then add them one by one."""
    if not paths:
        raise RetrievalError("no files given; name one or more files, e.g. docs/*.md.")
    max_bytes = kb.ws.settings.max_upload_mb * 1_000_000
    docs = [(load_path(p, max_bytes), str(p)) for p in paths]
    return [add_document(kb, d, chunk, path=p, progress=progress) for d, p in docs]


def delete_document(kb: KnowledgeBase, name: str) -> int:
    """Remove a document and its chunks; returns how many chunks were removed."""
    if not kb.ws.db.query("SELECT 1 FROM kb_documents WHERE kb = ? AND name = ?",
                          (kb.name, name)):
        known = ", ".join(r["name"] for r in kb.ws.db.query(
            "SELECT name FROM kb_documents WHERE kb = ? ORDER BY name", (kb.name,))) or "none"
        raise RetrievalError(f"knowledge base '{kb.name}' has no document '{name}' (documents: "
                             f"{known}); give the file name as listed by `ladder kb list`.")
    col = kb.collection()
    ids = col.get(where={"source": name}, include=[])["ids"]
    _delete_ids(col, ids)
    with kb.ws.db.connect() as c:
        c.execute("DELETE FROM kb_documents WHERE kb = ? AND name = ?", (kb.name, name))
        _touch(c, kb.name, time.time())
    return len(ids)


def reindex(kb: KnowledgeBase, chunk: ChunkSettings,
            progress: Progress | None = None) -> KnowledgeBase:
    """Rebuild every document with new chunk settings into a fresh collection, then swap.

    The old collection keeps serving until the new one is complete; a failure
    drops the new one and leaves the knowledge base as it was.
    """
    rows = kb.ws.db.query("SELECT name, kind, source, sha256, bytes, units FROM kb_documents"
                          " WHERE kb = ? ORDER BY name", (kb.name,))
    name = new_collection_name(kb.name)
    col = get_collection(kb.ws.settings, name, kb.ef_search, create=True)
    counts = {}
    try:
        for n, r in enumerate(rows, 1):
            doc = LoadedDocument(r["name"], r["kind"], json.loads(r["units"]), r["sha256"],
                                 r["bytes"])
            ids, chunks = _unique_chunks(doc, chunk)
            vectors = embed_texts([c.text for c in chunks], progress,
                                  f"Re-indexing {doc.name} ({n}/{len(rows)})")
            _write(col, doc, ids, chunks, vectors, r["source"])
            counts[doc.name] = len(ids)
        now = time.time()
        with kb.ws.db.connect() as c:
            c.execute("UPDATE knowledge_bases SET collection = ?, chunk_mode = ?, chunk_size = ?,"
                      " chunk_overlap = ? WHERE name = ?",
                      (name, chunk.mode, chunk.size, chunk.overlap, kb.name))
            for doc_name, count in counts.items():
                c.execute("UPDATE kb_documents SET chunk_mode = ?, chunk_size = ?,"
                          " chunk_overlap = ?, chunks = ?, updated_at = ? WHERE kb = ? AND"
                          " name = ?", (chunk.mode, chunk.size, chunk.overlap, count, now,
                                        kb.name, doc_name))
            _touch(c, kb.name, now)
    except BaseException:
        drop_collection(kb.ws.settings, name)
        raise
    drop_collection(kb.ws.settings, kb.collection_name)
    return open_kb(kb.ws, kb.name)
