"""Retrieval for rung 2: knowledge bases in chromadb, search, and dynamic prompt parts.

Modules: `loaders` (files -> text units), `chunking` (units -> chunks sized in
MiniLM tokens), `store` (chroma client and knowledge-base records), `ingest`
(add / replace / delete / re-index documents, all or nothing), `ranking`
(BM25, RRF, MMR, exact top-k), `search` (top-k, hybrid, MMR, recall check) and
`dynamic` (`{context}` within a token budget, similar train examples, retrieval
metrics). Vectors always come from `core.embeddings` (the packaged MiniLM).

Trade-off: chromadb and sentence-transformers are imported only when first
used, so importing this package (and starting the `ladder` command) stays fast.
"""

from core.retrieval.chunking import Chunk, ChunkSettings, chunk_text, chunk_units, count_tokens
from core.retrieval.dynamic import (
    Context,
    ExampleIndex,
    context_for,
    contexts_for,
    example_index,
    hit_rate_at_k,
    index_from_rows,
    is_hit,
    mrr,
    retrieval_metrics,
    similar_examples,
    similar_examples_batch,
)
from core.retrieval.errors import RetrievalError
from core.retrieval.ingest import AddResult, add_document, add_files, delete_document, reindex
from core.retrieval.loaders import LoadedDocument, load_bytes, load_path
from core.retrieval.search import Hit, recall_check, search
from core.retrieval.store import (
    DEFAULT_EF_SEARCH,
    KnowledgeBase,
    create_kb,
    drop_kb,
    list_documents,
    list_kbs,
    open_kb,
    set_ef_search,
)

__all__ = [
    "DEFAULT_EF_SEARCH", "AddResult", "Chunk", "ChunkSettings", "Context", "ExampleIndex", "Hit",
    "KnowledgeBase", "LoadedDocument", "RetrievalError", "add_document", "add_files",
    "chunk_text", "chunk_units", "context_for", "contexts_for", "count_tokens", "create_kb",
    "delete_document", "drop_kb", "example_index", "hit_rate_at_k", "index_from_rows", "is_hit",
    "list_documents", "list_kbs", "load_bytes", "load_path", "mrr", "open_kb", "recall_check",
    "reindex", "retrieval_metrics", "search", "set_ef_search", "similar_examples",
    "similar_examples_batch",
]
