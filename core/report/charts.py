"""Plotly figures from plain records, shared by the dashboard and the HTML report."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from core.compare.cost import Option, break_even_volume, pareto_frontier
from core.compare.decision import advanced_option, reads_prompt

BLUE, GREY, RED = "#3b5bdb", "#adb5bd", "#e03131"


def score_vs_cost(options: list[Option]) -> go.Figure:
    front = {o.name for o in pareto_frontier(options)}
    fig = go.Figure()
    xs = [o.per_request_usd * 1000 for o in options]
    fig.add_trace(go.Scatter(
        x=xs, y=[o.score for o in options], mode="markers+text",
        text=[o.name for o in options], textposition="top center",
        marker=dict(size=12, color=[BLUE if o.name in front else GREY for o in options],
                    symbol=["circle" if reads_prompt(o) else "diamond" for o in options]),
        error_y=dict(type="data", symmetric=False,
                     array=[o.ci_high - o.score for o in options],
                     arrayminus=[o.score - o.ci_low for o in options]),
        name="options"))
    f = sorted(pareto_frontier(options), key=lambda o: o.per_request_usd)
    fig.add_trace(go.Scatter(x=[o.per_request_usd * 1000 for o in f], y=[o.score for o in f],
                             mode="lines", line=dict(color=BLUE, dash="dot"),
                             name="Pareto frontier"))
    positive = [x for x in xs if x > 0]
    unprompted = sorted({o.backend.label.lower() for o in options if not reads_prompt(o)})
    title = "Score vs cost per 1,000 requests" + (
        f" (◆ {', '.join(unprompted)})" if unprompted else "")
    fig.update_layout(title=title, yaxis_title="score",
                      xaxis_title="USD per 1,000 requests", height=420,
                      xaxis_type="log" if positive and max(positive) / min(positive) > 50 else
                      "linear", margin=dict(l=10, r=10, t=40, b=10))
    return fig


def latency_box(latencies_ms: dict[str, list[float]]) -> go.Figure:
    fig = go.Figure()
    for name, values in latencies_ms.items():
        fig.add_trace(go.Box(y=values, name=name, boxpoints="outliers"))
    fig.update_layout(title="Latency per request (ms)", yaxis_title="ms", height=380,
                      showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def monthly_cost(options: list[Option], volume: float, horizon_months: float = 12.0) -> go.Figure:
    top = max(volume * 4, 1000.0)
    vols = [top * i / 200 for i in range(201)]
    fig = go.Figure()
    for o in options:
        fig.add_trace(go.Scatter(x=vols, y=[o.monthly_cost(v, horizon_months) for v in vols],
                                 mode="lines", name=o.name))
    advanced = advanced_option(options)
    for o in options:
        if o is advanced:
            continue
        v = break_even_volume(advanced, o, horizon_months)
        if v is not None and 0 < v <= top and not math.isnan(v):
            fig.add_trace(go.Scatter(x=[v], y=[o.monthly_cost(v, horizon_months)], mode="markers",
                                     marker=dict(size=12, color=RED, symbol="x"),
                                     name=f"break-even {o.name}: {v:,.0f}/month"))
    fig.add_vline(x=volume, line_dash="dash", line_color=GREY,
                  annotation_text=f"your volume {volume:,.0f}")
    fig.update_layout(title=f"Monthly cost vs monthly volume (one-time costs over "
                            f"{horizon_months:g} months)",
                      xaxis_title="requests per month", yaxis_title="USD per month", height=420,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def net_value_bars(value: dict) -> go.Figure:
    """Expected net value per month of each option with its 95% interval (decide by value)."""
    rows = value["options"]
    fig = go.Figure(go.Bar(
        x=[r["net_value_month"] for r in rows], y=[r["name"] for r in rows], orientation="h",
        marker_color=[GREY if not r["eligible"] else RED if r["name"] == value["best"] else
                      BLUE for r in rows],
        error_x=dict(type="data", symmetric=False,
                     array=[r["net_value_ci"][1] - r["net_value_month"] for r in rows],
                     arrayminus=[r["net_value_month"] - r["net_value_ci"][0] for r in rows])))
    fig.add_vline(x=0, line_color=GREY)
    fig.update_layout(title=f"Expected net value per month (a correct answer "
                            f"${value['value_correct']:g}, an error ${value['cost_error']:g})",
                      xaxis_title="USD per month (95% interval)", yaxis_autorange="reversed",
                      height=80 + 40 * len(rows), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def leaderboard_bars(board: list[dict], label_key: str = "name") -> go.Figure:
    fig = go.Figure(go.Bar(
        x=[e["score"] for e in board], y=[e[label_key] for e in board], orientation="h",
        error_x=dict(type="data", symmetric=False,
                     array=[e["ci_high"] - e["score"] for e in board],
                     arrayminus=[e["score"] - e["ci_low"] for e in board]),
        marker_color=BLUE))
    fig.update_layout(height=80 + 45 * len(board), title="Score with 95% bootstrap interval",
                      xaxis_range=[0, 1.05], yaxis=dict(autorange="reversed"),
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig
