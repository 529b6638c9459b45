"""Kind `classifier`: the embedding classifier (MiniLM + logistic regression), core.models.classifier.

It reads each row's input (no prompt) and predicts one of the labels it was trained on, so
it is not `prompted` and runs on classification datasets only. Adding one trains it on a
dataset's train split, in seconds; that training time is its one-time cost.
"""

from __future__ import annotations

from core.models.kinds import CONCURRENCY, HOURLY, NOTES, Field, Kind, register


def _load(ws, spec, progress=None):
    from core.models.classifier import load_backend

    return load_backend(spec)


def _add(ws, model_id: str, values: dict):
    from core.models.classifier import DEFAULT_HOURLY_COST, add_classifier

    hourly = values.get("hourly_cost")
    spec, meta = add_classifier(
        ws, model_id, values.get("data") or "",
        hourly_cost=DEFAULT_HOURLY_COST if hourly is None else hourly,
        concurrency=values.get("concurrency") or 1, notes=values.get("notes") or "")
    val = meta["validation_accuracy"]
    detail = (f"trained on {meta['train_rows']} rows of {meta['dataset']} v{meta['version']} "
              f"in {meta['train_seconds']:.1f} s"
              + (f", validation accuracy {val:.3f}" if val is not None else ""))
    return spec, detail, {"training": meta}


def _train_seconds(spec) -> float:
    from core.models.classifier import classifier_meta

    return float(classifier_meta(spec).get("train_seconds") or 0.0)


def _fingerprint(spec) -> str:
    from core.models.classifier import fingerprint

    return fingerprint(spec)


register(Kind(
    name="classifier", label="Embedding classifier",
    prompted=False, batch=True, tasks=("classification",), does="predicts labels",
    untrainable="is an embedding classifier, not a language model.",
    description="Trains a logistic regression on MiniLM sentence embeddings of a "
                "classification dataset's train split, in seconds. It reads each row's input "
                "(no prompt) and predicts one of the labels; compare it with the LLMs before "
                "paying for one.",
    fields=(
        Field("data", "Dataset (its train split)", "--data", "dataset", required=True,
              metavar="DATASET", help="a classification dataset with a train split"),
        Field("hourly_cost", HOURLY.label, HOURLY.flag, "number", help=HOURLY.help,
              metavar="USD", format="%.3f", placeholder="default 0.10"),
        CONCURRENCY, NOTES,
    ),
    cli_flag="--classifier", add_button="Train and add",
    load=_load, add=_add, train_seconds=_train_seconds, fingerprint=_fingerprint,
))
