"""Input vectors for the quality report, kept between reports on the same texts.

Embedding the inputs dominates a report's run time, so vectors are kept in memory
(the last three text sets) and, when the caller gives a path (the service does, per
dataset version and embedding engine), saved there: a second report on the same
version embeds nothing. A caller's own embedding function is never saved.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

EmbedFn = Callable[[list[str]], np.ndarray]
_vectors: OrderedDict[str, np.ndarray] = OrderedDict()


def embed_cached(texts: list[str], embed_fn: EmbedFn | None,
                  path: Path | None = None) -> np.ndarray:
    """Vectors of `texts`: from memory, from `path` (same texts), or embedded and saved."""
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()
    if embed_fn is None and key in _vectors:
        _vectors.move_to_end(key)
        return _vectors[key]
    ours = embed_fn is None and path is not None  # a caller's own embed_fn is never saved
    vecs = _read_vectors(path, key, len(texts)) if ours else None
    if vecs is None:
        if embed_fn is None:
            from core.embeddings import embed as embed_fn
        vecs = embed_fn(texts)
        if ours:
            _write_vectors(path, key, vecs)
    _vectors[key] = vecs
    while len(_vectors) > 3:
        _vectors.popitem(last=False)
    return vecs


def _read_vectors(path: Path, key: str, n: int) -> np.ndarray | None:
    """Saved vectors for exactly these texts, or None (missing, stale or unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key or z["vectors"].shape != (n, 384):
                return None
            return z["vectors"].astype(np.float32, copy=False)
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _write_vectors(path: Path, key: str, vecs: np.ndarray) -> None:
    """Save atomically; a cache that cannot be written only costs a re-embed later."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, key=np.array(key), vectors=vecs)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
