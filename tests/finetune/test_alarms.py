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
