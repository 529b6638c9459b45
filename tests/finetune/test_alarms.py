"""Alarms and early stopping on hand-built curves."""

from __future__ import annotations

from core.finetune import alarms


def curve(vals, trains, scores=None, train_scores=None):
    out = []
    for i, (v, t) in enumerate(zip(vals, trains, strict=True)):
        rec = {"step": 10 * (i + 1), "val_loss": v, "train_loss": t}
        if scores:
            rec.update(val_score=scores[i], train_score=train_scores[i])
        out.append(rec)
    return out


def kinds(history, **kw):
    return [a.kind for a in alarms.check(history, **kw)]


def test_overfitting_needs_val_rising_while_train_falls():
    assert kinds(curve([0.9, 0.8, 0.85, 0.9], [0.9, 0.6, 0.4, 0.2])) == ["overfitting"]
    assert kinds(curve([0.9, 0.8, 0.85, 0.9], [0.9, 0.6, 0.4, 0.2]), overfit_patience=3) == []
    assert kinds(curve([0.9, 0.8, 0.85, 0.9], [0.5, 0.6, 0.7, 0.8])) == []  # both rising
    assert kinds(curve([0.9, 0.8, 0.7, 0.6], [0.9, 0.6, 0.4, 0.2])) == []  # healthy


def test_score_gap_and_underfitting_name_their_knobs():
    h = curve([0.5, 0.5], [0.3, 0.2], [0.60, 0.62], [0.70, 0.90])
    [gap] = alarms.check(h, overfit_gap=0.15)
    assert gap.kind == "score_gap" and "0.28" in gap.message and "lora_dropout" in gap.knobs
    assert alarms.check(h, overfit_gap=0.3) == []
    under = alarms.check(curve([2.0, 1.9, 1.9], [2.1, 2.0, 1.95]), underfit_loss=1.0)
    assert [a.kind for a in under] == ["underfitting"]
    assert "`lr`" in under[0].message and "target_modules" in under[0].knobs
    assert alarms.check(curve([2.0, 1.9], [2.1, 2.0]), underfit_loss=1.0) == []  # too early
    for a in alarms.check(curve([0.9, 1.0, 1.1], [1.5, 1.2, 1.1]), underfit_loss=1.0):
        assert a.knobs and "`" in a.message


def test_early_stopping_patience_and_min_delta():
    h = [{"val_loss": x} for x in (1.0, 0.9, 0.89, 0.895)]
    assert alarms.early_stop_state(h, "val_loss", 2, 0.0) == (0.89, 1, False)
    assert alarms.early_stop_state(h, "val_loss", 2, 0.05) == (0.9, 2, True)
    s = [{"val_score": x} for x in (0.5, 0.7, 0.7, 0.69)]
    assert alarms.early_stop_state(s, "val_score", 2, 0.0) == (0.7, 2, True)
    assert alarms.early_stop_state(s, "val_score", 0, 0.0)[2] is False  # patience 0 = off


def test_free_text_underfitting_follows_the_loss_trend_not_its_level():
    text = dict(task="free_text", underfit_min_drop=0.02, underfit_window=2)
    # the run the issue reported: 1.66 / 1.52 is an ordinary text loss while it still falls
    falling = curve([1.90, 1.70, 1.52], [2.00, 1.80, 1.66])
    assert kinds(falling, **text) == []
    assert kinds(falling, underfit_loss=1.0) == ["underfitting"]  # labels: the level decides
    stalled = curve([1.60, 1.59, 1.585], [1.70, 1.69, 1.68])
    [under] = alarms.check(stalled, **text)
    assert under.kind == "underfitting" and "`lr`" in under.message and "lora_r" in under.knobs
    assert "fell 1.2%" in under.message and "0.9%" in under.message
    assert kinds(stalled, **{**text, "underfit_min_drop": 0.005}) == []
    assert kinds(stalled[:2], **text) == []  # too early
    # a low plateau is flat too, but a falling one at any level is learning
    assert kinds(curve([0.40, 0.30, 0.22], [0.45, 0.33, 0.25]), **text) == []
    # validation rising is overfitting's alarm, not underfitting's
    assert "underfitting" not in kinds(curve([1.50, 1.50, 1.51], [1.7, 1.7, 1.7]), **text)
    # the interval's mean training loss is used where recorded (one step's loss is noisy)
    noisy = curve([1.60, 1.59, 1.585], [1.70, 1.69, 1.40])  # the last step was an easy batch
    assert kinds(noisy, **text) == []
    for h, avg in zip(noisy, (1.70, 1.69, 1.68), strict=True):
        h["train_loss_avg"] = avg
    assert kinds(noisy, **text) == ["underfitting"]
    # classification keeps the level rule
    assert kinds(stalled, task="classification", underfit_loss=1.0) == ["underfitting"]
    assert kinds(curve([0.30, 0.30, 0.30], [0.3, 0.3, 0.3]), task="classification") == []
