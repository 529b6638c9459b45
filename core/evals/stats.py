"""Statistics for leaderboards: bootstrap intervals, paired tests, plain-language verdicts.

Small evaluation sets are the norm here (50-500 rows), so every score carries a
95% percentile-bootstrap interval, and "A is better than B" is decided with a
paired test on the same rows: exact McNemar for pass/fail scores, a paired
sign-flip permutation test for graded scores.
"""

from __future__ import annotations

import math

import numpy as np


def bootstrap_ci(values, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval.

    >>> bootstrap_ci([1, 1, 1, 1])
    (1.0, 1.0, 1.0)
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size == 1 or np.all(x == x[0]):
        return (mean, mean, mean)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return (mean, float(min(lo, mean)), float(max(hi, mean)))


def mcnemar_exact(a_pass, b_pass) -> tuple[int, int, float]:
    """Exact two-sided McNemar test on paired pass/fail results.

    Returns (b, c, p): b = rows only A passed, c = rows only B passed.

    >>> mcnemar_exact([1, 1, 1, 0], [0, 0, 0, 0])
    (3, 0, 0.25)
    """
    a = np.asarray(a_pass, dtype=bool)
    b = np.asarray(b_pass, dtype=bool)
    only_a = int((a & ~b).sum())
    only_b = int((~a & b).sum())
    n = only_a + only_b
    if n == 0:
        return only_a, only_b, 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return only_a, only_b, float(min(1.0, 2 * tail))


def paired_permutation(a, b, n_perm: int = 5000, seed: int = 0) -> float:
    """Two-sided p-value of mean(a - b) under random sign flips of the paired differences."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size == 0 or np.all(d == 0):
        return 1.0
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_perm, d.size))
    perm = np.abs((signs * d).mean(axis=1))
    return float((np.sum(perm >= observed - 1e-12) + 1) / (n_perm + 1))


def percentile(values, q: float) -> float:
    x = np.asarray([v for v in values if v is not None], dtype=float)
    return float(np.percentile(x, q)) if x.size else math.nan


def compare_paired(name_a: str, scores_a, name_b: str, scores_b, alpha: float = 0.05) -> dict:
    """Paired comparison of two variants (or models) on the same rows, with a verdict.

    >>> compare_paired("A", [1] * 30 + [0] * 10, "B", [1] * 10 + [0] * 30)["verdict"]
    'A beats B by 50.0 points (p < 0.001).'
    """
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.size != b.size or a.size == 0:  # the same keys as a real comparison, with no numbers
        return {"a": name_a, "b": name_b, "test": None, "p_value": None, "diff": None,
                "diff_ci_low": None, "diff_ci_high": None, "only_a": None, "only_b": None,
                "significant": False,
                "verdict": "Not comparable: the two were not run on the same rows."}
    binary = set(np.unique(np.concatenate([a, b]))) <= {0.0, 1.0}
    if binary:
        only_a, only_b, p = mcnemar_exact(a, b)
        test = "McNemar (exact)"
    else:
        p, test, only_a, only_b = paired_permutation(a, b), "paired permutation", None, None
    diff = float(a.mean() - b.mean())
    d_lo, d_hi = _diff_ci(a, b)
    points = abs(diff) * 100
    if p < alpha and diff != 0:
        winner, loser = (name_a, name_b) if diff > 0 else (name_b, name_a)
        verdict = f"{winner} beats {loser} by {points:.1f} points ({_p(p)})."
    else:
        verdict = (f"No significant difference between {name_a} and {name_b} "
                   f"({diff * 100:+.1f} points, {_p(p)}).")
    return {"a": name_a, "b": name_b, "test": test, "p_value": p, "diff": diff,
            "diff_ci_low": d_lo, "diff_ci_high": d_hi, "only_a": only_a, "only_b": only_b,
            "significant": bool(p < alpha and diff != 0), "verdict": verdict}


def _diff_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    _, lo, hi = bootstrap_ci(a - b)
    return lo, hi


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"
