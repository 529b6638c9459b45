"""Knowledge bases: a chroma collection of chunk vectors plus a SQLite record of its documents.

The vectors live in chromadb: a `PersistentClient` in the workspace
(`LADDER_HOME/vectors`), or a chroma server through `HttpClient` when
`LADDER_CHROMA_URL` is set. Every collection uses cosine distance and is always
given our own embedding function (MiniLM through `core.embeddings`), so chroma
never reaches for its default ONNX model, which would try to download.

SQLite (migration 0005) records each knowledge base (its collection, default
chunk settings and HNSW `ef_search`) and each document with its extracted text
units, so a knowledge base can be re-indexed with other chunk settings without
the original files, and a collection lost on a server can be rebuilt.

Trade-off: two stores to keep consistent. Vectors are written first and the
SQLite row last; a failure in between deletes the vectors just added (see
`core.retrieval.ingest`), so a document is in both or in neither.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from core.retrieval.chunking import ChunkSettings
from core.retrieval.errors import RetrievalError

DEFAULT_EF_SEARCH = 256  # chroma's default (100) gave recall@5 0.52 on hard data (docs/platform-notes.md)
EF_CONSTRUCTION = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_clients: dict[str, Any] = {}
_lock = threading.Lock()


@dataclass
class KnowledgeBase:
    """A handle on one knowledge base; cheap to create, holds no vectors."""

    ws: Any = field(repr=False)
    name: str
    collection_name: str
    chunk: ChunkSettings
    ef_search: int
    revision: int
    created_at: float
    updated_at: float

    def collection(self):
        """The chroma collection (cosine, our embedding function)."""
        return get_collection(self.ws.settings, self.collection_name, self.ef_search)

    def record(self) -> dict:
        return {"name": self.name, "collection": self.collection_name, "chunk_mode":
                self.chunk.mode, "chunk_size": self.chunk.size, "overlap": self.chunk.overlap,
                "ef_search": self.ef_search, "created_at": self.created_at,
                "updated_at": self.updated_at}


@lru_cache(maxsize=1)
def embedding_function():
    """Our chroma embedding function: MiniLM vectors from `core.embeddings.embed`."""
    from chromadb.api.types import Documents, EmbeddingFunction

    class LadderMiniLM(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents):  # noqa: A002 -- chroma's parameter name
            from core.embeddings import embed

            return list(embed(list(input)))

        @staticmethod
        def name() -> str:
            return "ladder-minilm"

        def get_config(self) -> dict:
            return {"model": "all-MiniLM-L6-v2"}

        @staticmethod
        def build_from_config(config: dict):
            return LadderMiniLM()

        def default_space(self):
            return "cosine"

        def supported_spaces(self):
            return ["cosine"]

    return LadderMiniLM()


def client(settings):
    """The chroma client for these settings: HTTP when LADDER_CHROMA_URL is set, else embedded."""
    key = settings.chroma_url or str(settings.vector_dir)
    with _lock:
        if key not in _clients:
            _clients[key] = _http_client(settings.chroma_url) if settings.chroma_url \
                else _persistent_client(settings)
        return _clients[key]


def _persistent_client(settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings.vector_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.vector_dir),
                                         settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as e:
        raise RetrievalError(f"the vector store in {settings.vector_dir} cannot be opened "
                             f"({type(e).__name__}: {e}); move that folder aside and re-index "
                             "with `ladder kb reindex NAME`.") from e


def _http_client(url: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    u = urlparse(url if "://" in url else f"http://{url}")
    if u.scheme not in ("http", "https") or not u.hostname:
        raise RetrievalError(f"LADDER_CHROMA_URL '{url}' is not a server URL; set it like "
                             "http://127.0.0.1:8000, or unset it to use the embedded store.")
    try:
        c = chromadb.HttpClient(host=u.hostname, port=u.port or (443 if u.scheme == "https"
                                                                  else 8000),
                                ssl=u.scheme == "https",
                                settings=ChromaSettings(anonymized_telemetry=False))
        c.heartbeat()
    except Exception as e:
        raise RetrievalError(f"the chroma server at {url} does not answer ({type(e).__name__}); "
                             "start it with `chroma run --path DIR --port PORT`, or unset "
                             "LADDER_CHROMA_URL to use the embedded store.") from e
    return c


def get_collection(settings, name: str, ef_search: int = DEFAULT_EF_SEARCH, create: bool = False):
    c = client(settings)
    ef = embedding_function()
    try:
        if create:
            return c.get_or_create_collection(name, embedding_function=ef, configuration={
                "hnsw": {"space": "cosine", "ef_search": ef_search,
                         "ef_construction": EF_CONSTRUCTION}})
        return c.get_collection(name, embedding_function=ef)
    except RetrievalError:
        raise
    except Exception as e:
        if type(e).__name__ == "NotFoundError":
            raise RetrievalError(f"the vectors of collection '{name}' are missing from the "
                                 "vector store; rebuild them from the stored documents with "
                                 "`ladder kb reindex NAME`.") from None
        raise RetrievalError(f"the vector store failed ({type(e).__name__}: {e}); check "
                             "LADDER_CHROMA_URL or the workspace's vectors folder.") from e


def drop_collection(settings, name: str) -> None:
    try:
        client(settings).delete_collection(name)
    except Exception:  # already gone: nothing to drop
        pass


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise RetrievalError(f"'{name}' is not a usable knowledge-base name; use 1-63 letters, "
                             "digits, '_' or '-', starting with a letter or digit (e.g. help-center).")
    return name


def new_collection_name(name: str) -> str:
    return f"kb-{name}-{uuid.uuid4().hex[:8]}"


def _kb(ws, row) -> KnowledgeBase:
    return KnowledgeBase(ws, row["name"], row["collection"],
                         ChunkSettings(row["chunk_mode"], row["chunk_size"], row["chunk_overlap"]),
                         row["ef_search"], row["revision"], row["created_at"], row["updated_at"])


def create_kb(ws, name: str, chunk: ChunkSettings | None = None,
              ef_search: int = DEFAULT_EF_SEARCH) -> KnowledgeBase:
    """A new, empty knowledge base; its name must be free."""
    check_name(name)
    chunk = chunk or ChunkSettings()
    check_ef_search(ef_search)
    if ws.db.query("SELECT 1 FROM knowledge_bases WHERE name = ?", (name,)):
        raise RetrievalError(f"a knowledge base named '{name}' already exists; add files to it "
                             f"with `ladder kb add {name} FILE`, or choose another name.")
    coll = new_collection_name(name)
    get_collection(ws.settings, coll, ef_search, create=True)
    now = time.time()
    try:
        ws.db.execute("INSERT INTO knowledge_bases (name, collection, chunk_mode, chunk_size,"
                      " chunk_overlap, ef_search, revision, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                      (name, coll, chunk.mode, chunk.size, chunk.overlap, ef_search, now, now))
    except BaseException:
        drop_collection(ws.settings, coll)
        raise
    return open_kb(ws, name)


def open_kb(ws, name: str) -> KnowledgeBase:
    rows = ws.db.query("SELECT * FROM knowledge_bases WHERE name = ?", (name,))
    if not rows:
        known = ", ".join(r["name"] for r in ws.db.query(
            "SELECT name FROM knowledge_bases ORDER BY name")) or "none yet"
        raise RetrievalError(f"there is no knowledge base '{name}' (known: {known}); create it "
                             f"with `ladder kb create {name}`.")
    return _kb(ws, rows[0])


def list_kbs(ws) -> list[dict]:
    """One record per knowledge base with its document and chunk counts (from SQLite)."""
    rows = ws.db.query(
        "SELECT k.*, COUNT(d.name) AS documents, COALESCE(SUM(d.chunks), 0) AS chunks"
        " FROM knowledge_bases k LEFT JOIN kb_documents d ON d.kb = k.name"
        " GROUP BY k.name ORDER BY k.name")
    return [{**_kb(ws, r).record(), "documents": r["documents"], "chunks": r["chunks"]}
            for r in rows]


def list_documents(kb: KnowledgeBase) -> list[dict]:
    rows = kb.ws.db.query("SELECT kb, name, kind, source, sha256, bytes, chunk_mode, chunk_size,"
                          " chunk_overlap, chunks, added_at, updated_at FROM kb_documents"
                          " WHERE kb = ? ORDER BY name", (kb.name,))
    return [dict(r) for r in rows]


def document_names(kb: KnowledgeBase) -> list[str]:
    return [r["name"] for r in kb.ws.db.query("SELECT name FROM kb_documents WHERE kb = ?"
                                              " ORDER BY name", (kb.name,))]


def drop_kb(ws, name: str) -> None:
    """Delete a knowledge base: its record, its documents and its vectors."""
    kb = open_kb(ws, name)
    ws.db.execute("DELETE FROM knowledge_bases WHERE name = ?", (name,))
    drop_collection(ws.settings, kb.collection_name)


def check_ef_search(value: int) -> None:
    if not (1 <= int(value) <= 10_000):
        raise RetrievalError(f"ef_search {value} is out of range; give 10 to 10000 (higher finds "
                             "more true neighbours and is slower), e.g. 256.")


def set_ef_search(kb: KnowledgeBase, value: int) -> KnowledgeBase:
    """Change HNSW's search breadth on the collection (no re-index needed)."""
    check_ef_search(value)
    try:
        kb.collection().modify(configuration={"hnsw": {"ef_search": int(value)}})
    except RetrievalError:
        raise
    except Exception as e:
        raise RetrievalError(f"could not change ef_search on '{kb.name}' ({e}); try again, or "
                             "re-index the knowledge base.") from e
    kb.ws.db.execute("UPDATE knowledge_bases SET ef_search = ?, updated_at = ? WHERE name = ?",
                     (int(value), time.time(), kb.name))
    return open_kb(kb.ws, kb.name)
