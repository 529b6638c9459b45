"""Kinds `encoder` and `head`: label predictors made by a classification fine-tune
(core.models.seqcls).

An `encoder` is the packaged MiniLM fine-tuned end to end with a linear head; a `head` is a
LoRA adapter on a registered causal LM with a classification head (`base_model`). Both
read each row's input (no prompt), predict one of the labels they were trained on, and are
registered by the fine-tuning worker (not added by hand); their training time is their
one-time cost.
"""

from __future__ import annotations

from core.models.kinds import Kind, register


def _load(ws, spec, progress=None):
    from core.models.seqcls import load_backend

    return load_backend(ws, spec)


def _train_seconds(spec) -> float:
    from pathlib import Path

    from core.models.seqcls import read_meta

    return float(read_meta(Path(spec.source)).get("train_s") or 0.0)


def _fingerprint(spec) -> str:
    from pathlib import Path

    from core.models.seqcls import fingerprint

    return fingerprint(Path(spec.source))


def _needs_base(spec) -> None:
    if not spec.base_model:
        raise ValueError("an LLM classification head needs the id of its base model")


COMMON = dict(prompted=False, tuned=True, batch=True, tasks=("classification",),
              does="predicts labels", load=_load, train_seconds=_train_seconds,
              fingerprint=_fingerprint)

register(Kind(
    name="encoder", label="Fine-tuned encoder classifier",
    untrainable="is a fine-tuned encoder classifier, not a language model.", **COMMON))

register(Kind(
    name="head", label="LLM with a classification head",
    untrainable="is already fine-tuned (a classification head); fine-tune its base "
                "'{base_model}' instead.", validate=_needs_base, **COMMON))
