"""Kind `hub`: a model from the Hugging Face Hub, by id, run here with transformers.

Its weights are downloaded on first use (so the hub is left online while one is registered).
"""

from __future__ import annotations

import re

from core.models.kinds import CONCURRENCY, HOURLY, NOTES, TRUST, Field, Kind, register
from core.models.kinds import transformers_common as tc

_HF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def _validate(spec) -> None:
    if not _HF_RE.match(spec.source or ""):
        raise ValueError(f"'{spec.source}' is not a Hugging Face model id; use the form "
                         "org/name, e.g. HuggingFaceTB/SmolLM2-360M-Instruct")


def _context(ws, spec) -> int | None:
    from huggingface_hub import try_to_load_from_cache

    from core.models.context import from_config

    found = try_to_load_from_cache(spec.source, "config.json")
    return from_config(found) if isinstance(found, str) else None


register(Kind(
    name="hub", label="Hugging Face model id",
    trainable=True, likelihood=True, batch=True, downloads=True,
    fields=(
        Field("source", "Model id", "--hf", required=True, metavar="ORG/NAME",
              help="a Hugging Face model id", placeholder="HuggingFaceTB/SmolLM2-360M-Instruct"),
        HOURLY, CONCURRENCY, TRUST, NOTES,
    ),
    cli_flag="--hf",
    load=tc.load, validate=_validate, weights=lambda spec, cache_root, progress=None: spec.source,
    context=_context,
))
