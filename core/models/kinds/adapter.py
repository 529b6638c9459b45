"""Kind `adapter`: a LoRA (PEFT) adapter on a registered base model.

Registered by the fine-tuning worker; loads its base's weights and the adapter on top
(core.models.local.load_backend). It is tuned, and not a fine-tune base itself.
"""

from __future__ import annotations

from core.models.kinds import Kind, get, register
from core.models.kinds import transformers_common as tc


def _validate(spec) -> None:
    if not spec.base_model:
        raise ValueError("an adapter needs the id of its base model")


def _context(ws, spec) -> int | None:
    if not spec.base_model:
        return None
    base = ws.registry.get(spec.base_model)
    hook = get(base.kind).context
    return hook(ws, base) if hook else None


register(Kind(
    name="adapter", label="Fine-tuned adapter (LoRA)",
    likelihood=True, batch=True, tuned=True,
    untrainable="is already a fine-tuned adapter; fine-tune its base '{base_model}' instead "
                "(with more data or steps).",
    load=tc.load, validate=_validate, context=_context,
))
