"""The cost model: per-request cost from measurements, one-time costs, monthly totals, break-even.

Hosted models cost tokens x price; local models cost measured machine seconds x
the hourly hardware cost shared by the concurrency; fine-tuning adds a one-time
cost (measured training time x hourly cost, plus optional data-preparation
hours x an hourly rate) spread over a horizon of months. All amounts are USD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One way to serve the task: a model with its own prompt, measured on the same rows."""

    name: str
    per_request_usd: float
    one_time_usd: float = 0.0
    score: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    latency_p50_ms: float = math.nan
    latency_p95_ms: float = math.nan
    kind: str = ""  # the model's kind (core.models.kinds); "" when not known

    @property
    def backend(self):
        """The registered kind of this option's model (its capabilities), None if unknown."""
        from core.models import kinds

        return kinds.find(self.kind)

    def monthly_cost(self, requests_per_month: float, horizon_months: float = 12.0) -> float:
        """Per-request cost x volume, plus the one-time cost spread over the horizon.

        >>> Option("a", per_request_usd=0.002, one_time_usd=120).monthly_cost(10_000, 12)
        30.0
        """
        return requests_per_month * self.per_request_usd + self.one_time_usd / horizon_months


def finetune_one_time_cost(train_seconds: float, hourly_cost: float, prep_hours: float = 0.0,
                           prep_rate: float = 0.0) -> float:
    """Training time x hardware cost, plus data preparation hours x an hourly rate.

    >>> finetune_one_time_cost(1800, 2.0, prep_hours=4, prep_rate=50)
    201.0
    """
    for v in (train_seconds, hourly_cost, prep_hours, prep_rate):
        if v < 0 or math.isnan(v):
            raise ValueError("costs and hours must be non-negative numbers")
    return train_seconds / 3600.0 * hourly_cost + prep_hours * prep_rate


def local_per_request(seconds_per_request: float, hourly_cost: float, concurrency: int = 1) -> float:
    """Machine time per request x hourly cost, shared by the requests served at once.

    >>> local_per_request(0.5, 3.6, concurrency=2)
    0.00025
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    return seconds_per_request / 3600.0 * hourly_cost / concurrency


def hosted_per_request(input_tokens: float, output_tokens: float, price_in_per_m: float,
                       price_out_per_m: float) -> float:
    """Tokens x price per million.

    >>> hosted_per_request(1000, 200, 2.5, 10.0)
    0.0045
    """
    return (input_tokens * price_in_per_m + output_tokens * price_out_per_m) / 1e6


def break_even_volume(a: Option, b: Option, horizon_months: float = 12.0) -> float | None:
    """Requests per month above which `b` is cheaper than `a`; None if it never is.

    `b` is typically the fine-tuned small model (one-time cost, cheap requests) and
    `a` the advanced model (no one-time cost, expensive requests). Returns 0.0 when
    `b` is cheaper at every volume.

    >>> break_even_volume(Option("big", 0.01), Option("ft", 0.001, one_time_usd=108), 12)
    1000.0
    >>> break_even_volume(Option("big", 0.001), Option("ft", 0.002, one_time_usd=10)) is None
    True
    """
    fixed_diff = (b.one_time_usd - a.one_time_usd) / horizon_months
    per_req_diff = a.per_request_usd - b.per_request_usd
    if per_req_diff <= 0:
        return 0.0 if fixed_diff < 0 and per_req_diff == 0 else None
    return round(max(0.0, fixed_diff / per_req_diff), 6)


def cost_curve(options: list[Option], volumes: list[float],
               horizon_months: float = 12.0) -> dict[str, list[float]]:
    return {o.name: [o.monthly_cost(v, horizon_months) for v in volumes] for o in options}


def pareto_frontier(options: list[Option]) -> list[Option]:
    """Options not beaten on both score (higher) and cost (lower), cheapest first.

    >>> [o.name for o in pareto_frontier([Option("a", 1, score=.9), Option("b", 2, score=.8),
    ...                                   Option("c", .5, score=.7)])]
    ['c', 'a']
    """
    ordered = sorted(options, key=lambda o: (o.per_request_usd, -o.score))
    frontier: list[Option] = []
    best = -math.inf
    for o in ordered:
        if o.score > best:
            frontier.append(o)
            best = o.score
    return frontier
