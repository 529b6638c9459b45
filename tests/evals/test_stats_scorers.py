"""Scorers and statistics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evals import scorers as sc
from core.evals.stats import bootstrap_ci, compare_paired, mcnemar_exact, paired_permutation

LABELS = ["billing", "bug", "account", "feature_request"]


@pytest.mark.parametrize("output,expected", [
    ("billing", "billing"), ("Billing.", "billing"), ("  BUG ", "bug"),
    ("Answer: account", "account"), ("Category: feature request", "feature_request"),
    ("The category is: Billing.", "billing"),
    ("This looks like a bug in sync, not billing", "bug"),  # first named
    ("feature-request", "feature_request"), ("debugging", None), ("no idea", None), ("", None),
])
def test_extract_label(output, expected):
    assert sc.extract_label(output, LABELS) == expected


def test_score_label_pass_fail_invalid():
    assert sc.score_label("Billing", "billing", LABELS).passed
    wrong = sc.score_label("bug", "billing", LABELS)
    assert (wrong.passed, wrong.error_kind, wrong.parsed) == (False, None, "bug")
    bad = sc.score_label("dunno", "billing", LABELS)
    assert (bad.passed, bad.error_kind) == (False, sc.INVALID)


@pytest.mark.parametrize("output,target,tol,passed,parsed", [
    ("7", "7", 0, True, "7"), ("I'd say 8/10", "7", 1, True, "8"), ("8", "6", 1, False, "8"),
    ("score: 6.5", "7", 0.5, True, "6.5"), ("8,5", "8.5", 0, True, "8.5"),
])
def test_score_number(output, target, tol, passed, parsed):
    s = sc.score_number(output, target, tol)
    assert (s.passed, s.parsed) == (passed, parsed)


def test_score_number_invalid():
    assert sc.score_number("very positive", "9", 1).error_kind == sc.INVALID


def test_free_text_scorers():
    assert sc.score_contains("The capital is Paris.", "paris").passed
    assert not sc.score_contains("The capital is Lyon.", "paris").passed
    assert sc.score_regex("ID: AB-123", r"[A-Z]{2}-\d{3}").parsed == "AB-123"
    assert not sc.score_regex("none", r"\d+").passed
    assert sc.score_json('```json\n{"a": 1}\n```').passed
    assert sc.score_json("{'a': 1}").error_kind == sc.INVALID
    assert sc.score_judge_reply("Score: 5").passed
    assert sc.score_judge_reply("3").score == 0.5
    assert sc.score_judge_reply("great").error_kind == sc.INVALID
    assert sc.score_judge_reply("9").error_kind == sc.INVALID


def test_judge_prompt_does_not_interpret_values():
    p = sc.judge_prompt("r", "{output}", "{input}", "x {target}")
    assert "Question or input:\n{output}" in p and "Answer to grade:\nx {target}" in p


@pytest.mark.slow
def test_similarity_scorer_uses_embeddings():
    s = sc.score_similarity(["The cat sat on the mat.", "Quarterly revenue grew."],
                            ["A cat is sitting on a mat.", "A cat is sitting on a mat."], 0.6)
    assert s[0].passed and not s[1].passed and s[0].score > s[1].score


def test_scorer_config_checks(ws):
    with pytest.raises(ValueError, match="pattern is invalid"):
        sc.ScorerConfig(kind="regex", pattern="(").check()
    with pytest.raises(ValueError, match="not registered"):
        sc.ScorerConfig(kind="judge", judge_model="nobody").check(ws)
    with pytest.raises(ValueError, match="unknown scorer"):
        sc.ScorerConfig(kind="vibes")


def test_mcnemar_exact_hand_computed():
    # 5 rows only A passed, 1 only B: p = 2 * P(X <= 1 | n=6, 1/2) = 2 * 7/64
    a = [1] * 5 + [0] + [1] * 10
    b = [0] * 5 + [1] + [1] * 10
    assert mcnemar_exact(a, b) == (5, 1, pytest.approx(14 / 64))
    assert mcnemar_exact([1, 0], [1, 0]) == (0, 0, 1.0)


def test_bootstrap_ci_contains_mean_and_narrows_with_n():
    rng = np.random.default_rng(1)
    small = rng.integers(0, 2, 40)
    big = rng.integers(0, 2, 4000)
    m, lo, hi = bootstrap_ci(small)
    assert lo <= m <= hi and m == pytest.approx(small.mean())
    _, blo, bhi = bootstrap_ci(big)
    assert (bhi - blo) < (hi - lo)
    # normal approximation for p=0.5, n=40: half-width about 1.96*sqrt(.25/40) = 0.155
    assert (hi - lo) / 2 == pytest.approx(1.96 * math.sqrt(m * (1 - m) / 40), abs=0.04)
    assert bootstrap_ci([]) [0] != bootstrap_ci([])[0]  # nan


def test_permutation_test_detects_a_real_shift():
    rng = np.random.default_rng(2)
    a = rng.normal(0.6, 0.1, 60)
    assert paired_permutation(a, a - 0.1) < 0.01
    assert paired_permutation(a, a) == 1.0


def test_verdicts():
    a = [1] * 30 + [0] * 10
    b = [1] * 10 + [0] * 30
    assert compare_paired("A", a, "B", b)["verdict"] == "A beats B by 50.0 points (p < 0.001)."
    same = compare_paired("A", [1, 0, 1, 0], "B", [0, 1, 1, 0])
    assert not same["significant"] and same["verdict"].startswith("No significant difference")
    assert compare_paired("A", [1], "B", [1, 0])["test"] is None
