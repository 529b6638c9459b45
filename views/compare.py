"""Model comparison (rung 3): advanced vs small vs fine-tuned, cost at volume, and the decision."""

import pandas  # noqa: F401  -- before plotly (first-load race, docs/platform-notes.md)
import pandas as pd
import streamlit as st

from core.compare.decision import Requirements
from core.compare.service import (
    check_prices,
    comparison_config,
    latencies_ms,
    options_from_run,
)
from core.errors import LadderError
from core.evals.engine import create_run
from core.evals.rows import load_rows
from core.evals.store import list_runs
from core.evals.worker import submit_eval
from core.models import kinds
from core.prompts import store as pstore
from core.report.charts import latency_box, monthly_cost, net_value_bars, score_vs_cost
from core.report.summary import compare_summary
from views.common import pick_dataset, workspace
from views.eval_views import export_button, matrix_view, progress_panel

ws = workspace()
st.title("3 · Model comparison")
st.caption("The same rows through each model, each with its own prompt: a fine-tuned small "
           "model usually needs no few-shot examples, so its shorter prompt is part of its "
           "cost. Then the cost at your volume, the break-even point and a recommendation.")

dataset = pick_dataset(ws, key="cmp_dataset")
if dataset is None:
    st.stop()
set_id = pstore.dataset_set(ws, dataset["name"])
variants = pstore.current_variants(ws, set_id)
if not variants:
    st.info("Write at least one prompt variant in the Prompt Lab first.")
    st.page_link("views/prompt_lab.py", label="Open the Prompt Lab", icon=":material/edit_note:")
    st.stop()

with st.expander("New comparison", expanded=not list_runs(ws, dataset["name"])):
    kind_of = {m.id: kinds.find(m.kind) for m in ws.registry.list()}
    all_models = list(kind_of)
    models = st.multiselect("Models", all_models, default=all_models[:2], key="cmp_models",
                            help="An embedding classifier (add one on the Models page) is the "
                                 "classic baseline: it reads each row's input, no prompt.")
    names = [v.name for v in variants]
    variant_for = {}
    cols = st.columns(max(1, len(models)))
    for col, m in zip(cols, models, strict=False):
        if (k := kind_of[m]) is not None and not k.prompted:
            col.caption(f"**{m}**: {k.label.lower()}, reads each row's input (no prompt)")
        else:
            variant_for[m] = col.selectbox(f"Prompt for {m}", names, key=f"cmp_v_{m}")
    c1, c2 = st.columns(2)
    split = c1.selectbox("Rows", ["test", "validation"], key="cmp_split")
    limit = c2.number_input("Sample N rows (0 = all)", 0, 100_000, 0, key="cmp_limit")
    if st.button("Run comparison", type="primary", key="cmp_run"):
        try:
            check_prices(ws, models)
            cfg = comparison_config(dataset["name"], models, variants, variant_for, split,
                                    int(limit) or None)
            run_id = create_run(ws, cfg, purpose="comparison")
            submit_eval(ws, run_id, label=f"Comparison: {dataset['name']}")
            st.session_state["cmp_pick"] = run_id  # show the new comparison below
            st.success(f"Comparison run #{run_id} started.")
        except (LadderError, ValueError) as e:
            st.error(f"Not started: {e}")

runs = list_runs(ws, dataset["name"], purpose="comparison")
if not runs:
    st.info("No comparison yet: choose models above and run one.")
    st.stop()
labels = {r["id"]: f"#{r['id']} · {r['model_id']}" for r in runs}
run_id = st.selectbox("Comparison", list(labels), format_func=labels.get, key="cmp_pick")
progress_panel(ws, run_id)

st.subheader("Your requirements")
c1, c2, c3, c4 = st.columns(4)
volume = c1.number_input("Requests per month", 1, 10**10, 50_000, step=1000, key="cmp_vol")
min_score = c2.number_input("Minimum score", 0.0, 1.0, None, 0.05, key="cmp_min",
                            placeholder="within noise of the best",
                            help="Unset: the options whose 95% interval reaches the best "
                                 "option's qualify, and the cheapest of them is recommended. "
                                 "Set it (even to 0) to accept any option above it.")
max_lat = c3.number_input("Max p95 latency, ms (0 = none)", 0, 600_000, 0, key="cmp_lat")
horizon = c4.number_input("Horizon, months", 1, 120, 12, key="cmp_h")
c1, c2, c3 = st.columns(3)
prep_hours = c1.number_input("Data preparation hours", 0.0, 10_000.0, 0.0, key="cmp_ph")
prep_rate = c2.number_input("USD per hour of preparation", 0.0, 10_000.0, 0.0, key="cmp_pr")
in_house = c3.checkbox("Data must stay in-house", key="cmp_in")
st.caption("What is at stake per request (optional): with either amount the recommendation is "
           "the option worth the most a month, not the cheapest one that passes.")
c1, c2, _ = st.columns(3)
value_correct = c1.number_input("USD a correct answer is worth", 0.0, 1e6, None, 0.01,
                                format="%.4f", key="cmp_vc", placeholder="not set")
cost_error = c2.number_input("USD an error costs", 0.0, 1e6, None, 0.01, format="%.4f",
                             key="cmp_ce", placeholder="not set")

try:
    req = Requirements(float(volume), None if min_score is None else float(min_score),
                       float(max_lat) or None, float(horizon),
                       in_house, value_correct, cost_error)
    summary = compare_summary(ws, run_id, req, prep_hours, prep_rate)
except (LadderError, ValueError) as e:
    st.error(str(e))
    st.stop()
if not summary["models"]:
    st.info("No results yet.")
    st.stop()

table = pd.DataFrame(summary["models"])
table["variant"] = table["variant"].fillna("— (reads the input)")  # an embedding classifier
st.dataframe(table, hide_index=True, width="stretch", column_order=(
    "model", "kind", "variant", "n", "score", "ci_low", "ci_high", "latency_p50_ms",
    "latency_p95_ms", "cost_per_request_usd", "cost_per_1k_usd", "throughput_rps",
    "invalid_rate", "consistency", "input_tokens_mean", "output_tokens_mean"), column_config={
    "variant": st.column_config.TextColumn("prompt"),
    "score": st.column_config.NumberColumn(format="%.3f"),
    "ci_low": st.column_config.NumberColumn("95% CI low", format="%.3f"),
    "ci_high": st.column_config.NumberColumn("95% CI high", format="%.3f"),
    "invalid_rate": st.column_config.NumberColumn("invalid", format="percent"),
    "latency_p50_ms": st.column_config.NumberColumn("p50 ms", format="%.0f"),
    "latency_p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
    "cost_per_request_usd": st.column_config.NumberColumn("$ / request", format="%.6f"),
    "cost_per_1k_usd": st.column_config.NumberColumn("$ / 1k", format="%.4f"),
    "throughput_rps": st.column_config.NumberColumn("requests/s", format="%.1f"),
})
export_button(ws, run_id, key="cmp_csv")

dec = summary["decision"]
if dec["recommendation"]:
    st.success(f"**Recommendation: {dec['recommendation']}.** {dec['reason']}")
else:
    st.warning(dec["reason"])
for name, why in dec["rejected"].items():
    st.caption(f"{name}: {why}")
if dec.get("significance"):
    st.info(f"**Is the score difference real?** {dec['significance']['verdict']}")
if dec.get("value"):
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(net_value_bars(dec["value"]), width="stretch")
    c2.markdown("**Break-even accuracy**: the accuracy each option would need to be worth as "
                "much as the recommended one.")
    c2.dataframe(pd.DataFrame([{
        "option": o["name"], "accuracy": o["accuracy"], "net $/month": o["net_value_month"],
        "break-even accuracy": (o["break_even_accuracy"] if o["break_even_possible"] else None),
    } for o in dec["value"]["options"]]), hide_index=True, width="stretch", column_config={
        "accuracy": st.column_config.NumberColumn(format="percent"),
        "net $/month": st.column_config.NumberColumn(format="$%.2f"),
        "break-even accuracy": st.column_config.NumberColumn(
            format="percent", help="empty: not even 100% accuracy would match it")})
for b in dec["break_even"]:
    st.markdown(f"- {b['text']}")
for d in summary.get("distillation") or []:
    st.info(f"**Teacher → student.** {d['text']}")

options = options_from_run(ws, run_id, prep_hours, prep_rate)
c1, c2 = st.columns(2)
c1.plotly_chart(score_vs_cost(options), width="stretch")
c2.plotly_chart(monthly_cost(options, float(volume), float(horizon)), width="stretch")
st.plotly_chart(latency_box(latencies_ms(ws, run_id)), width="stretch")

st.subheader("When fine-tuning tends to pay — checked against your numbers")
for g in dec["guidance"]:
    st.markdown(f"{':green[✔]' if g['holds'] else ':gray[✘]'} **{g['criterion']}** — "
                f"{g['detail']}")

st.subheader("Where the models disagree")
matrix_view(ws, run_id, load_rows(ws, dataset["name"], "all").rows, key="cmp")
