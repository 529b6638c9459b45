"""Home: where the project stands on each rung of the ladder, and the registered models."""

import pandas  # noqa: F401
import streamlit as st

from core import datasets
from views.common import (
    RUNGS,
    dataset_choice,
    flash,
    models_frame,
    rung_status,
    show_flash,
    workspace,
)

ws = workspace()

st.title("Tuning Ladder")
st.markdown(
    "Get an LLM to do your task **well and cheaply**. Climb only as far as you need: "
    "better prompts first, then prompts built from similar examples, then a comparison "
    "of bigger and smaller models, and fine-tuning a small model when the numbers say it pays."
)

st.subheader("Data")
show_flash("home")
data = datasets.list_datasets(ws)
d = None
if data:
    c1, c2 = st.columns([1, 2])
    name = dataset_choice(c1, "Dataset", [x["name"] for x in data], "home_dataset",
                          help="The ladder and the decision report below are for this dataset "
                               "(the most recently changed one comes first); the other pages "
                               "open on it too.")
    d = next(x for x in data if x["name"] == name)
    c2.markdown(f"{len(data)} dataset{'s' if len(data) > 1 else ''}; **{d['name']}** "
                f"v{d['version']}: {d['rows']:,} rows, {d['task']}, "
                f"split {'saved' if d['split'] else 'not made yet'}.")
else:
    st.markdown("No dataset yet: import a CSV on the Data page, or start with the sample.")
c1, c2 = st.columns([1, 3])
if c1.button("Load the sample data", key="home_sample",
             help="370 support tickets (examples/support_tickets.csv) with a default split"):
    try:
        res = datasets.load_sample(ws)
        flash("home", f"Sample data ready: '{res.version.dataset}' v{res.version.number}, "
                      f"{res.version.rows} rows, split 80/10/10.")
    except datasets.DatasetError as e:
        st.error(str(e))
with c2:
    st.page_link("views/data.py", label="Open Data", icon=":material/table_view:")

st.subheader("The four rungs")
summary = None
if d is not None:
    from core.compare.decision import Requirements
    from core.report.summary import ladder_summary

    volume = st.session_state.get("home_volume") or 10_000
    summary = ladder_summary(ws, d["name"], Requirements(float(volume)))
status = rung_status(summary)
cols = st.columns(4)
for col, (path, title, blurb), (done, text) in zip(cols, RUNGS, status, strict=True):
    with col, st.container(border=True):
        st.markdown(f"**{title}**")
        st.caption(blurb)
        st.markdown((":green[**Done.**] " if done else ":gray[Not run yet.] ") + text)
        st.page_link(path, label="Open", icon=":material/arrow_forward:")

if summary is not None:
    st.subheader(f"Decision report · {summary['dataset']}")
    st.number_input("Expected requests per month", 1, 10**10, value=10_000, step=1000,
                    key="home_volume")
    st.info(f"**Recommendation.** {summary['recommendation']}")
    from core.report.export import html_report, markdown, results_csv

    c1, c2, c3 = st.columns(3)
    req = Requirements(float(st.session_state["home_volume"]))
    c1.download_button("Report (Markdown)", markdown(summary), file_name="ladder-report.md",
                       key="home_md")
    c2.download_button("Report (HTML with charts)", html_report(ws, summary, req),
                       file_name="ladder-report.html", mime="text/html", key="home_html")
    c3.download_button("Results (CSV)", results_csv(ws, summary), file_name="ladder-results.csv",
                       mime="text/csv", key="home_csv")

st.subheader("Registered models")
specs = ws.registry.list()
st.dataframe(models_frame(specs, ws.settings.model_cache), hide_index=True, width="stretch")
st.page_link("views/models.py", label="Manage models", icon=":material/memory:")

with st.expander("Workspace"):
    st.write(f"Everything this app writes lives in `{ws.settings.root}` "
             "(set `LADDER_HOME` to use another folder).")
    st.write(f"Database migrations applied: {', '.join(ws.db.applied_migrations())}")
