"""Kind `finetuned`: a fully fine-tuned model, the folder a full fine-tune run saved.

Registered by the fine-tuning worker (core.finetune.worker.register); it loads like a local
folder, can itself be fine-tuned further, and counts as tuned: no prompt-pull calibration,
and its run's measured training time is its one-time cost in a comparison. Workspaces made
before this kind existed have such models as `folder` entries under the runs folder; the
registry moves them here when it opens (core.models.registry.Registry.adopt_finetuned).
"""

from __future__ import annotations

import json
from pathlib import Path

from core.models.kinds import Kind, register
from core.models.kinds import transformers_common as tc


def _trained_from(spec) -> str | None:
    """The base model of the run that saved this folder (RUN_DIR/config.json)."""
    try:
        return json.loads((Path(spec.source).parent / "config.json").read_text()
                          ).get("base_model")
    except (OSError, ValueError):
        return None

register(Kind(
    name="finetuned", label="Fully fine-tuned model",
    trainable=True, likelihood=True, batch=True, tuned=True,
    load=tc.load, validate=tc.validate_folder, weights=tc.folder_weights,
    context=tc.folder_context, parent=_trained_from,
))
