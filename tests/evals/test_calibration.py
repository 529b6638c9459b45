"""Label calibration and fixed few-shot examples: the cause of a below-chance 6-shot prompt.

The constructed case is the one seen on Financial PhraseBank: a small model prefers the
label 'pos' on every input, and content-free inputs ("N/A") after neutral-heavy examples
look neutral. Subtracting the content-free scores (the old calibration) removed 'neu',
the majority label, from the predictions; calibrating on typical inputs with the train
prior keeps it.
"""

from __future__ import annotations

import math

import numpy as np

from core.evals.calibration import calibration_rows, calibration_vector, label_prior
from core.evals.rows import fixed_examples

LABELS = ["neg", "neu", "pos"]
TRUE = ["neu"] * 6 + ["pos"] * 2 + ["neg"] * 2  # 60% neutral, like the real set


def raw_scores(rng) -> list[list[float]]:
    """Label log-likelihoods of a model biased to 'pos', with a weak true signal."""
    out = []
    for t in TRUE:
        s = {"neg": -3.0, "neu": -2.6, "pos": -1.0}
        s[t] += 0.9  # the signal: the true label is a little more likely than otherwise
        out.append([s[lab] + rng.normal(0, 0.1) for lab in LABELS])
    return out


def accuracy(scores, vector) -> float:
    pred = [LABELS[int(np.argmax(np.asarray(s) - np.asarray(vector)))] for s in scores]
    return sum(p == t for p, t in zip(pred, TRUE, strict=True)) / len(TRUE)


def test_content_free_calibration_falls_below_chance_and_ours_does_not():
    rng = np.random.default_rng(0)
    test, train_like = raw_scores(rng), raw_scores(rng)
    content_free = [-3.0, -0.4, -2.0]  # "N/A" after neutral-heavy examples: very neutral
    assert accuracy(test, [0.0, 0.0, 0.0]) == 0.2  # uncalibrated: all 'pos'
    assert accuracy(test, content_free) < 1 / 3  # the old way: below chance, no 'neu' left
    prior = label_prior(TRUE, LABELS)
    ours = calibration_vector(train_like, prior)
    assert accuracy(test, ours) >= 0.6  # at least the majority class, here every row right
    assert accuracy(test, ours) == 1.0


def test_calibration_of_an_unbiased_model_is_its_prior():
    prior = label_prior(["a", "b"] * 10, ["a", "b"])
    v = calibration_vector([[math.log(0.5), math.log(0.5)]] * 4, prior)
    assert v == [0.0, 0.0] or max(abs(x) for x in v) < 1e-9


def test_fixed_examples_are_stratified_shuffled_seeded_and_from_train_only():
    train = [{"row_id": i, "target": t} for i, t in enumerate(["neu"] * 60 + ["pos"] * 25
                                                              + ["neg"] * 15)]
    a = fixed_examples(train, 6, seed=0, labels=LABELS)
    assert a == fixed_examples(train, 6, seed=0, labels=LABELS)  # seeded
    assert sorted(e["target"] for e in a) == ["neg", "neu", "neu", "neu", "neu", "pos"]
    orders = {tuple(e["target"] for e in fixed_examples(train, 6, seed=s, labels=LABELS))
              for s in range(8)}
    assert len(orders) > 1 and not all(o == tuple(sorted(o)) for o in orders)  # shuffled
    ids = {r["row_id"] for r in train}
    assert all(e["row_id"] in ids for s in range(8)
               for e in fixed_examples(train, 6, seed=s, labels=LABELS))
    assert len({e["row_id"] for e in a}) == 6  # no row twice
    assert fixed_examples(train, 2, labels=LABELS)[0]["target"] in ("neu", "pos")


def test_calibration_rows_never_include_the_examples():
    train = [{"row_id": i, "target": "a"} for i in range(40)]
    fixed = train[:6]
    rows = calibration_rows(train, fixed, seed=0, n=24)
    assert len(rows) == 24 and not {r["row_id"] for r in rows} & {r["row_id"] for r in fixed}
    assert calibration_rows(train[:10], fixed, seed=0) == train[6:10]
