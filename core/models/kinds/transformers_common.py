"""Hooks shared by the kinds that run a transformers causal LM on this machine.

Not a kind itself: packaged, hub, folder, adapter and finetuned take what they need from here.
"""

from __future__ import annotations

from pathlib import Path

from core.models.base import ModelError


def load(ws, spec, progress=None):
    """The local transformers backend (core.models.local), built once per process."""
    from core.models.local import load_backend

    return load_backend(spec, ws.settings, ws.registry, progress)


def validate_folder(spec) -> None:
    """The folder exists and holds a transformers model (config.json) or a .gguf file."""
    folder = Path(spec.source).expanduser()
    if not folder.is_dir():
        raise ValueError(f"the folder {folder} does not exist")
    if not (folder / "config.json").exists() and not list(folder.glob("*.gguf")):
        raise ValueError(f"{folder} holds no config.json or .gguf file; point at a saved "
                         "transformers model folder")
    spec.source = str(folder.resolve())


def folder_weights(spec, cache_root: Path, progress=None) -> str:
    """The folder itself, or (a folder of one .gguf file) its safetensors copy in the cache,
    converted once."""
    from core.models.cache import cached_model_dir, convert_once

    folder = Path(spec.source)
    if not folder.is_dir():
        raise ModelError(f"The model folder {folder} no longer exists; edit or delete '{spec.id}'.")
    ggufs = sorted(folder.glob("*.gguf"))
    if not (folder / "config.json").exists() and ggufs:
        return str(convert_once(ggufs[0], cached_model_dir(cache_root, spec.id), progress))
    return str(folder)


def folder_context(ws, spec) -> int | None:
    from core.models.context import from_config

    cache = Path(ws.settings.model_cache) / spec.id / "config.json"
    return from_config(Path(spec.source) / "config.json") or from_config(cache)
