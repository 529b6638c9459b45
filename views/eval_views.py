"""Renderers for evaluation results, shared by Prompt Lab, Dynamic prompts and Model comparison.

They take a run id and draw: live progress, the leaderboard with intervals, the
verdict, the rows x variants matrix and confusion matrices. Pure display:
everything is computed in core.evals.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.evals.store import get_run, list_runs
from core.evals.summary import confusion, leaderboard, matrix, scorer_note, verdict

ACTIVE = ("pending", "running")
PURPOSE_LABELS = {"prompt_lab": "Prompt Lab", "dynamic": "dynamic", "comparison": "comparison",
                  "heldout_check": "fine-tuned check"}


def run_picker(ws, dataset: str, key: str) -> int | None:
    runs = list_runs(ws, dataset)
    if not runs:
        st.caption("No runs yet for this dataset.")
        return None
    import time

    labels = {r["id"]: f"#{r['id']} · {PURPOSE_LABELS.get(r['purpose'], r['purpose'])} · "
                       f"{r['name']} · {r['model_id']} · "
                       f"{time.strftime('%d %b %H:%M', time.localtime(r['created_at']))}"
              for r in runs}
    return st.selectbox("Run", list(labels), format_func=labels.get, key=key)


def progress_panel(ws, run_id: int) -> None:
    """Live progress of a run; refreshes itself every 2 s while the run is active."""
    from core.evals.worker import job_for_run, submit_eval
    from core.jobs import runner

    @st.fragment(run_every=2)
    def _panel():
        runner.refresh(ws)
        run = get_run(ws, run_id)
        job = job_for_run(ws, run_id)
        total, done = run["total_cells"], run["done_cells"]
        status = job.status if job else {}
        state = job.state if job else run["status"]
        frac = done / total if total else 0.0
        eta = status.get("eta_s")
        text = f"{done}/{total} cells · {state}" + (f" · about {eta:.0f} s left" if eta else "")
        st.progress(min(frac, 1.0), text=text)
        c1, c2 = st.columns([1, 5])
        if job and state in ("queued", "running"):
            if c1.button("Stop", key=f"stop_{run_id}"):
                runner.cancel(ws, job.id)
                st.rerun()
        elif done < total:
            if c1.button("Resume", key=f"resume_{run_id}", type="primary"):
                submit_eval(ws, run_id)
                st.rerun()
        if job and job.error:
            st.error(f"The run stopped with an error: {job.error}")
        for model, err in run["errors"].items():
            st.error(f"{model}: {err}")
        if run["truncated"]:
            cut = run["config"].get("truncate")
            st.caption(f"{len(run['truncated'])} rows had their input cut "
                       f"({'its end' if cut == 'tail' else 'its beginning'}) to fit the model's "
                       "context: rows " + ", ".join(map(str, run["truncated"][:20]))
                       + (" ..." if len(run["truncated"]) > 20 else ""))
        active = state in ("queued", "running", "pending")
        seen = st.session_state.setdefault("_run_active", {})
        if active and done:
            board = leaderboard(ws, run_id)
            st.caption("Partial results so far (the full view appears when the run ends):")
            st.dataframe(pd.DataFrame(board)[["model", "name", "n", "score", "ci_low",
                                              "ci_high", "invalid_rate"]],
                         hide_index=True, width="stretch")
        if seen.get(run_id) and not active:
            seen[run_id] = False
            st.rerun(scope="app")  # the run just ended: redraw the full results
        seen[run_id] = active

    _panel()


def leaderboard_view(ws, run_id: int, export_key: str | None = None,
                     show_scorer: bool = False) -> list[dict]:
    """The leaderboard table, chart and verdict; with `export_key`, the per-row download
    button under the table; with `show_scorer`, which scorer made the scores and why."""
    board = leaderboard(ws, run_id)
    if not board:
        st.info("No results yet: the first cells appear as soon as the run computes them.")
        return board
    many_models = len({e["model"] for e in board}) > 1
    # corpus-level figures (corpus BLEU, chrF) and a second metric (ROUGE-L beside chrF)
    extra = [{**(e.get("corpus") or {}), **(e.get("beside") or {})} for e in board]
    extra_cols = list(dict.fromkeys(k for x in extra for k in x))
    df = pd.DataFrame([{**e, **x} for e, x in zip(board, extra, strict=True)])
    show = ["model"] if many_models else []
    show += ["name", "n", "score", "ci_low", "ci_high", *extra_cols, "consistency",
             "invalid_rate", "latency_p50_ms", "latency_p95_ms", "throughput_rows_s",
             "input_tokens_mean", "output_tokens_mean", "cost_per_1k_usd"] + (
        ["mae"] if "mae" in df else [])
    st.dataframe(
        df[show], hide_index=True, width="stretch",
        column_config={
            "name": "variant", "score": st.column_config.NumberColumn("score", format="%.3f"),
            "ci_low": st.column_config.NumberColumn("95% CI low", format="%.3f"),
            "ci_high": st.column_config.NumberColumn("95% CI high", format="%.3f"),
            "consistency": st.column_config.NumberColumn(format="%.2f"),
            "invalid_rate": st.column_config.NumberColumn("invalid", format="percent"),
            "latency_p50_ms": st.column_config.NumberColumn("p50 ms", format="%.0f"),
            "latency_p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
            "throughput_rows_s": st.column_config.NumberColumn(
                "rows/s (batched)", format="%.2f",
                help="rows per second of machine time when rows run in batches; p50/p95 "
                     "are what one request alone waits"),
            "input_tokens_mean": st.column_config.NumberColumn("in tokens", format="%.0f"),
            "output_tokens_mean": st.column_config.NumberColumn("out tokens", format="%.1f"),
            "cost_per_1k_usd": st.column_config.NumberColumn("$ / 1k requests", format="%.4f"),
            **{c: st.column_config.NumberColumn(c.replace("_", " "), format="%.3f"
                                                if c in ("rouge_l", "token_f1") else "%.1f")
               for c in extra_cols},
        })
    if show_scorer:
        st.caption(scorer_note(ws, run_id))
    if export_key:
        export_button(ws, run_id, key=export_key)
    labels = [f"{e['model']} / {e['name']}" if many_models else e["name"] for e in board]
    fig = go.Figure(go.Bar(
        x=[e["score"] for e in board], y=labels, orientation="h",
        error_x=dict(type="data", symmetric=False,
                     array=[e["ci_high"] - e["score"] for e in board],
                     arrayminus=[e["score"] - e["ci_low"] for e in board]),
        marker_color="#3b5bdb"))
    fig.update_layout(height=80 + 45 * len(board), margin=dict(l=10, r=10, t=30, b=10),
                      title="Score with 95% bootstrap interval", xaxis_range=[0, 1.05],
                      yaxis=dict(autorange="reversed"))
    st.plotly_chart(fig, width="stretch")
    comp = verdict(ws, run_id, board)
    if comp:
        (st.success if comp["significant"] else st.info)(
            f"**Verdict:** {comp['verdict']}  \n"
            f"Difference {comp['diff'] * 100:+.1f} points, 95% CI "
            f"[{comp['diff_ci_low'] * 100:+.1f}, {comp['diff_ci_high'] * 100:+.1f}] · {comp['test']}")
    return board


def matrix_view(ws, run_id: int, data_rows: list[dict], key: str) -> None:
    only = st.toggle("Only rows where the answers disagree", key=f"{key}_disagree")
    m = matrix(ws, run_id, data_rows, only_disagreements=only)
    st.caption(f"{len(m)} rows")
    st.dataframe(m, width="stretch", height=360)


MATRIX_LABELS = 20  # more labels than this: confused pairs and per-label tables instead


def confusion_view(ws, run_id: int, board: list[dict], targets: dict[int, str], key: str) -> None:
    names = sorted({(e["model"], e["name"]) for e in board})
    pick = st.selectbox("Variant", names, format_func=lambda x: f"{x[0]} / {x[1]}",
                        key=f"{key}_cm")
    cm = confusion(ws, run_id, pick[1], pick[0], targets)
    if cm.empty:
        return
    if len(cm.index) > MATRIX_LABELS:  # a 150 x 150 heatmap reads as noise: the mistakes
        from core.evals.summary import confused_pairs, label_metrics

        c1, c2 = st.columns(2)
        c1.markdown(f"**Most confused pairs** ({len(cm.index)} labels in these rows)")
        c1.dataframe(confused_pairs(cm), hide_index=True, width="stretch")
        c2.markdown("**Per-label precision and recall** (worst first)")
        c2.dataframe(label_metrics(cm).round(3), hide_index=True, width="stretch")
        return
    fig = go.Figure(go.Heatmap(z=cm.values, x=list(cm.columns), y=list(cm.index),
                               colorscale="Blues", text=cm.values, texttemplate="%{text}"))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title="answer", yaxis_title="true label", title="Confusion matrix")
    st.plotly_chart(fig, width="stretch")


def export_button(ws, run_id: int, key: str) -> None:
    """Every cell of the run with its input and references, as `ladder eval export` writes
    them; the file is built only when the button is clicked."""
    from core.evals.export import rows_bytes, run_rows

    st.download_button("Download per-row outputs (CSV)",
                       lambda: rows_bytes(run_rows(ws, run_id), "csv"),
                       file_name=f"eval-run-{run_id}-rows.csv", mime="text/csv", key=key,
                       help="One line per model, variant, row and sample: input, references, "
                            "output, parsed answer, score, error kind, tokens, latency, cost. "
                            f"The same file as `ladder eval export {run_id} --out rows.csv`.")
