"""Over- and underfitting alarms and early stopping, as pure functions of the evaluation history.

Each alarm names the knob to turn. The history is a list of evaluation records
(`{"step", "train_loss", "val_loss", "val_score", "train_score"}`), the same
records the worker appends to metrics.jsonl, so the page can recompute alarms
for any run and tests can build curves by hand.

Underfitting is judged by the loss level for answers that are labels or numbers (a
per-token loss above 1 on a one-word answer means the model has not learned it) and by
the loss trend for free text, where a per-token loss of 1.5 is ordinary: there the alarm
fires when neither training nor validation loss fell by a meaningful share over the last
evaluations.

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


def _train_loss(h: dict) -> float:
    """The interval's mean training loss where recorded (one step's loss is noisy)."""
    return h["train_loss_avg"] if h.get("train_loss_avg") is not None else h["train_loss"]


def loss_stalled(history: list[dict], min_drop: float, window: int = 2,
                 min_evals: int = 3) -> tuple[float, float] | None:
    """(train drop, validation drop) as shares when both fell less than `min_drop` over the
    last `window` evaluation intervals (and validation loss did not rise: that is
    overfitting), after at least `min_evals` evaluations; else None.

    >>> h = [{"val_loss": v, "train_loss": t} for v, t in [(2.00, 1.70), (1.99, 1.66), (1.98, 1.67)]]
    >>> [round(x, 3) for x in loss_stalled(h, 0.02)]
    [0.018, 0.01]
    >>> loss_stalled([{"val_loss": v, "train_loss": v} for v in (2.0, 1.6, 1.4)], 0.02) is None
    True
    """
    pts = [h for h in history if h.get("val_loss") is not None and h.get("train_loss") is not None]
    if len(pts) < max(min_evals, window + 1):
        return None
    first, last = pts[-(window + 1)], pts[-1]
    if last["val_loss"] > first["val_loss"]:
        return None
    train_drop = (_train_loss(first) - _train_loss(last)) / max(abs(_train_loss(first)), 1e-9)
    val_drop = (first["val_loss"] - last["val_loss"]) / max(abs(first["val_loss"]), 1e-9)
    if train_drop < min_drop and val_drop < min_drop:
        return train_drop, val_drop
    return None


UNDERFIT_KNOBS = ("lr", "epochs", "max_steps", "lora_r", "target_modules")


def check(history: list[dict], *, overfit_patience: int = 2, overfit_gap: float = 0.15,
          underfit_loss: float = 1.0, task: str = "classification",
          underfit_min_drop: float = 0.02, underfit_window: int = 2) -> list[Alarm]:
    """Every alarm the history raises now, each with the settings to change.

    Free text (`task="free_text"`) judges underfitting by the loss trend
    (`underfit_min_drop` over `underfit_window` evaluations), other tasks by the level
    (`underfit_loss`).
    """
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
    if task == "free_text":
        stalled = loss_stalled(history, underfit_min_drop, underfit_window)
        if stalled is not None:
            last = [h for h in history if h.get("val_loss") is not None][-1]
            alarms.append(Alarm(
                "underfitting",
                f"Underfitting: over the last {underfit_window} evaluations training loss fell "
                f"{stalled[0]:.1%} and validation loss {stalled[1]:.1%} (now "
                f"{_train_loss(last):.2f} and {last['val_loss']:.2f}; alarm below "
                f"{underfit_min_drop:.0%}): the model stopped learning. Raise `lr`, raise "
                "`lora_r` or use `target_modules=all_linear`, or train longer "
                "(`epochs`/`max_steps`) if the learning rate had already decayed.",
                UNDERFIT_KNOBS))
    elif underfitting(history, underfit_loss):
        last = [h for h in history if h.get("val_loss") is not None][-1]
        alarms.append(Alarm(
            "underfitting",
            f"Underfitting: training loss {last['train_loss']:.2f} and validation loss "
            f"{last['val_loss']:.2f} both stay above {underfit_loss:g}. Raise `lr`, train longer "
            "(`epochs`/`max_steps`), raise `lora_r` or use `target_modules=all_linear`.",
            UNDERFIT_KNOBS))
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
