"""One process-wide lock for importing and loading with the Hugging Face libraries.

transformers 5.x resolves its public names lazily: `from transformers import AutoConfig`
imports submodules on first access, and the auto classes import a model's code on its first
`from_pretrained`. Neither is thread-safe. Two Streamlit sessions pressing "Start run" at the
same moment on a fresh server failed with "ImportError: cannot import name 'AutoConfig' from
'transformers'" (the same failure appears in 3 of 5 cold runs of four plain threads doing
that import). Every import of transformers, peft and sentence-transformers in core, and every
tokenizer/model load, runs inside `loading()`. It is reentrant, so nested loads are fine, and it
is held only while loading: never while generating, scoring or training.

`cache_lock(path)` is the cross-process counterpart for one-time work on shared files (the
GGUF -> safetensors conversion): the app, the CLI and a worker may all reach it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_LOCK = threading.RLock()


@contextmanager
def loading() -> Iterator[None]:
    with _LOCK:
        yield


@contextmanager
def cache_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive file lock next to `target` (TARGET.lock) across threads and processes."""
    from filelock import FileLock

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(target.name + ".lock")), thread_local=False):
        yield
