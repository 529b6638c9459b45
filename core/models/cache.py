"""The workspace model cache: weights converted once, loaded many times.

Packaged GGUF files (and folders of one .gguf) are dequantized with transformers and saved
as safetensors under the cache root, one folder per model id, marked complete by
`CACHE_MARKER`; generation, scoring and training all load that copy. The first load takes
10-40 s, later ones about a second.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from core.hf import cache_lock, loading
from core.models.base import ModelError

Progress = Callable[[str], None]
CACHE_MARKER = "ladder-cache.json"


def cached_model_dir(cache_root: Path, model_id: str) -> Path:
    return cache_root / model_id


def is_cached(cache_root: Path, model_id: str) -> bool:
    return (cached_model_dir(cache_root, model_id) / CACHE_MARKER).exists()


def convert_gguf(gguf_path: Path, out_dir: Path, progress: Progress | None = None) -> Path:
    """Dequantize a GGUF file with transformers and save it as safetensors in `out_dir`.

    The GGUF quantizer that transformers attaches is detached first: with it the
    model can neither be saved nor trained. Written to a temporary folder and
    renamed, so an interrupted conversion never leaves a half cache.
    """
    import torch

    with loading():
        from transformers import AutoModelForCausalLM, AutoTokenizer
    say = progress or (lambda _m: None)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    say(f"Reading tokenizer from {gguf_path.name}")
    with loading():
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        say("Dequantizing weights (once; later loads use the cache)")
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
        )
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    say("Saving safetensors to the workspace cache")
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / CACHE_MARKER).write_text(
        json.dumps({"source": str(gguf_path), "seconds": round(time.perf_counter() - t0, 1)})
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    say("Cached")
    return out_dir


def convert_once(gguf: Path | Callable[[], Path], out_dir: Path,
                 progress: Progress | None = None) -> Path:
    """`out_dir`, converted from `gguf` (a path, or a function that finds it) unless it is
    already cached: the app, the CLI and a worker may all get here at once, and only one
    converts."""
    if not (out_dir / CACHE_MARKER).exists():
        with cache_lock(out_dir):
            if not (out_dir / CACHE_MARKER).exists():
                convert_gguf(gguf() if callable(gguf) else gguf, out_dir, progress)
    return out_dir


def materialize(spec, cache_root: Path, progress: Progress | None = None) -> str:
    """Return what `from_pretrained` should load for `spec` (its kind's `weights` hook:
    a packaged GGUF or a folder's .gguf is converted once into the cache)."""
    from core.models import kinds

    weights = kinds.of(spec).weights
    if weights is None:
        raise ModelError(f"'{spec.id}' is not a model whose weights are on this machine.")
    return weights(spec, cache_root, progress)
