"""How many tokens a registered model attends to, known without loading its weights.

Read from the model's `config.json` (the workspace cache of a packaged model, a local
folder, or the Hugging Face cache of a hub model), else from the packaged model's known
value; None for an endpoint, or a model whose files are not on this machine yet. Used to
refuse a `max_new_tokens` the model cannot produce before a run is created, and to cap
the answer length sized from the train targets.
"""

from __future__ import annotations

import json
from pathlib import Path

_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")


def from_config(path: Path | str) -> int | None:
    """The context length a transformers `config.json` declares (its text part for
    multimodal configs); None when the file is missing or says nothing usable.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "config.json")
    >>> _ = open(p, "w").write('{"text_config": {"max_position_embeddings": 32768}}')
    >>> from_config(p)
    32768
    """
    try:
        cfg = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    for part in (cfg.get("text_config"), cfg):
        if isinstance(part, dict):
            for k in _KEYS:
                v = part.get(k)
                if isinstance(v, int) and v > 0:
                    return v
    return None


def model_context(ws, spec) -> int | None:
    """Tokens of prompt and answer together that `spec`'s model can handle, or None
    (its kind's `context` hook; kinds without one, such as endpoints, say None)."""
    from core.models import kinds

    hook = kinds.of(spec).context
    return hook(ws, spec) if hook is not None else None
