"""An encoder fine-tune's warm start: the dataset's embedding classifier as its first head.

The classifier's logistic regression, over the same MiniLM's normalised mean-pooled vectors,
becomes the head (core.models.seqcls.head_from_linear), so step 0 predicts what the
classifier predicts and fine-tuning moves on from there (a linear probe, then fine-tuning:
LP-FT, Kumar et al., 2022). The run scores the start on its validation rows like a
checkpoint and keeps it when no checkpoint beats it (core.finetune.seqcls.run_seqcls).

Trade-off: the start is always the classifier, so a short budget (a tenth of an epoch of long
documents) ends level with it rather than below; the price is a lower learning rate (3e-5,
not 1e-4) than a random head needs (core.finetune.config).
"""

from __future__ import annotations

import json
from pathlib import Path

from core.finetune.config import FinetuneConfig

WARM_JSON, WARM_HEAD = "warm_start.json", "warm_start.safetensors"


def warm_start(ws, cfg: FinetuneConfig, run_dir, labels: list[str], log) -> dict | None:
    """The encoder's starting head from the dataset version's embedding classifier, or None
    (`warm_start` off, no classifier, other labels). The choice and the head are written to
    the run folder at the first start, so a resumed run builds the same model."""
    from safetensors.torch import load_file

    from core.finetune.head_to_head import find_classifier
    from core.models import seqcls
    from core.models.classifier import load as load_classifier

    saved = Path(run_dir) / WARM_JSON
    if saved.exists():
        return {**json.loads(saved.read_text()), "head": load_file(str(saved.with_name(WARM_HEAD)))}
    if not cfg.warm_start:
        return None
    clf_id = find_classifier(ws, cfg.dataset, cfg.dataset_hash)
    if clf_id is None:
        log("no embedding classifier of this dataset version: the head starts at random "
            "(add one, or keep before/after on, to start from it)")
        return None
    clf = load_classifier(Path(ws.registry.get(clf_id).source))[0]
    head = seqcls.head_from_linear(labels, clf)
    if head is None:
        log(f"{clf_id} was trained on other labels than this run's: the head starts at random")
        return None
    return {"classifier": clf_id, "head": head, "start_score": None}


def warm_start_text(rec: dict) -> str | None:
    """One sentence on a finished encoder run's warm start (the run page, `finetune status`).

    >>> warm_start_text({"warm_start": {"classifier": "c", "start_score": 0.8,
    ...                  "kept_start": False}, "best_metric": 0.85})
    "Started from c's head (validation accuracy 80.0% before training); kept the best checkpoint (85.0%)."
    """
    warm = rec.get("warm_start") or {}
    if not warm.get("classifier"):
        return None
    start, best = warm.get("start_score"), rec.get("best_metric")
    said = f"Started from {warm['classifier']}'s head" + (
        f" (validation accuracy {start:.1%} before training)" if start is not None else "")
    if warm.get("kept_start"):
        return said + (f"; no checkpoint beat it (best {best:.1%}), so the model kept is the "
                       "starting one: it answers as the classifier does." if best is not None
                       else "; the model kept is the starting one.")
    return said + (f"; kept the best checkpoint ({best:.1%})." if best is not None else ".")


def keep_warm_start(run_dir, warm: dict, is_main: bool) -> None:
    """Write the choice, its start score and the head into the run folder (rank 0)."""
    from safetensors.torch import save_file

    if is_main:
        save_file(warm["head"], str(Path(run_dir) / WARM_HEAD))
        (Path(run_dir) / WARM_JSON).write_text(json.dumps(
            {k: v for k, v in warm.items() if k != "head"}))
