"""Over- and underfitting alarms and early stopping, as pure functions of the evaluation history.

Each alarm names the knob to turn. The history is a list of evaluation records
(`{"step", "train_loss", "val_loss", "val_score", "train_score"}`), the same
records the worker appends to metrics.jsonl, so the page can recompute alarms
for any run and tests can build curves by hand.

Trade-off: simple rules over smoothed statistics. "Validation loss rose for P
evaluations in a row while training loss fell" is easy to explain and to act
on; it can fire late on a noisy curve, which a larger `overfit_patience` trades
against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Alarm:
    kind: str  # overfitting, score_gap, underfitting
    message: str
    knobs: tuple[str, ...]

    def record(self) -> dict:
        return asdict(self)


def _series(history: list[dict], key: str) -> list[float]:
    return [h[key] for h in history if h.get(key) is not None]


def rising_val_loss(history: list[dict], patience: int) -> bool:
    """Validation loss rose at each of the last `patience` evaluations while train loss fell.

    >>> h = [{"val_loss": v, "train_loss": t} for v, t in [(1.0, 1.0), (1.1, .8), (1.2, .6)]]
    >>> rising_val_loss(h, 2), rising_val_loss(h[:2], 2)
    (True, False)
    """
    pts = [h for h in history if h.get("val_loss") is not None and h.get("train_loss") is not None]
    if len(pts) < patience + 1:
        return False
    last = pts[-(patience + 1):]
    val_up = all(b["val_loss"] > a["val_loss"] for a, b in zip(last, last[1:], strict=False))
    train_down = last[-1]["train_loss"] < last[0]["train_loss"]
    return val_up and train_down


def score_gap(history: list[dict], threshold: float) -> float | None:
    """The latest train-minus-validation score gap when it passes `threshold`, else None."""
    pts = [h for h in history if h.get("val_score") is not None and h.get("train_score") is not None]
    if not pts or threshold <= 0:
        return None
    gap = pts[-1]["train_score"] - pts[-1]["val_score"]
    return gap if gap > threshold else None


def underfitting(history: list[dict], loss_threshold: float, min_evals: int = 3) -> bool:
    """Train and validation loss both still above `loss_threshold` after `min_evals` evaluations."""
    pts = [h for h in history if h.get("val_loss") is not None and h.get("train_loss") is not None]
    if len(pts) < min_evals:
        return False
    return pts[-1]["train_loss"] > loss_threshold and pts[-1]["val_loss"] > loss_threshold


def check(history: list[dict], *, overfit_patience: int = 2, overfit_gap: float = 0.15,
          underfit_loss: float = 1.0) -> list[Alarm]:
    """Every alarm the history raises now, each with the settings to change."""
    alarms = []
    if rising_val_loss(history, overfit_patience):
        alarms.append(Alarm(
            "overfitting",
            f"Overfitting: validation loss rose for {overfit_patience} evaluations in a row while "
            "training loss fell - the model is memorising the training rows. Lower `epochs` or "
            "`max_steps` (or keep early stopping on), lower `lr`, raise `lora_dropout` (0.1) or "
            "`weight_decay` (0.01-0.1), or add training data.",
            ("epochs", "max_steps", "lr", "lora_dropout", "weight_decay", "early_stopping_patience")))
    gap = score_gap(history, overfit_gap)
    if gap is not None:
        alarms.append(Alarm(
            "score_gap",
            f"Overfitting: the train score is {gap:.2f} above the validation score (alarm at "
            f"{overfit_gap:.2f}). Lower `epochs`/`max_steps` or `lora_r`, raise `lora_dropout` or "
            "`weight_decay`, or add training data.",
            ("epochs", "max_steps", "lora_r", "lora_dropout", "weight_decay")))
    if underfitting(history, underfit_loss):
        last = [h for h in history if h.get("val_loss") is not None][-1]
        alarms.append(Alarm(
            "underfitting",
            f"Underfitting: training loss {last['train_loss']:.2f} and validation loss "
            f"{last['val_loss']:.2f} both stay above {underfit_loss:g}. Raise `lr`, train longer "
            "(`epochs`/`max_steps`), raise `lora_r` or use `target_modules=all_linear`.",
            ("lr", "epochs", "max_steps", "lora_r", "target_modules")))
    return alarms


def improved(best: float | None, value: float, metric: str, min_delta: float) -> bool:
    """Whether `value` beats `best` by more than `min_delta` (loss: lower; score: higher).

    >>> improved(1.0, 0.95, "val_loss", 0.01), improved(0.5, 0.505, "val_score", 0.01)
    (True, False)
    """
    if best is None:
        return True
    if metric == "val_loss":
        return value < best - min_delta
    return value > best + min_delta


def early_stop_state(history: list[dict], metric: str, patience: int,
                     min_delta: float) -> tuple[float | None, int, bool]:
    """(best value, evaluations since it improved, stop now?) over the evaluation history.

    >>> h = [{"val_loss": x} for x in (1.0, 0.8, 0.85, 0.9)]
    >>> early_stop_state(h, "val_loss", 2, 0.0)
    (0.8, 2, True)
    """
    best, since = None, 0
    for h in history:
        v = h.get(metric)
        if v is None:
            continue
        if improved(best, v, metric, min_delta):
            best, since = v, 0
        else:
            since += 1
    return best, since, bool(patience) and since >= patience
