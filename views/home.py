"""Home: where the project stands on each rung of the ladder, and the registered models."""

import pandas  # noqa: F401
import streamlit as st

from pages.common import RUNGS, models_frame, workspace

ws = workspace()

st.title("Tuning Ladder")
st.markdown(
    "Get an LLM to do your task **well and cheaply**. Climb only as far as you need: "
    "better prompts first, then prompts built from similar examples, then a comparison "
    "of bigger and smaller models, and fine-tuning a small model when the numbers say it pays."
)

st.subheader("The four rungs")
cols = st.columns(4)
for col, (path, title, blurb) in zip(cols, RUNGS, strict=True):
    with col, st.container(border=True):
        st.markdown(f"**{title}**")
        st.caption(blurb)
        st.markdown("Status: :orange[not built yet]")
        st.page_link(path, label="Open", icon=":material/arrow_forward:")

st.subheader("Registered models")
specs = ws.registry.list()
st.dataframe(models_frame(specs, ws.settings.model_cache), hide_index=True, use_container_width=True)
st.page_link("pages/models.py", label="Manage models", icon=":material/memory:")

with st.expander("Workspace"):
    st.write(f"Everything this app writes lives in `{ws.settings.root}` "
             "(set `LADDER_HOME` to use another folder).")
    st.write(f"Database migrations applied: {', '.join(ws.db.applied_migrations())}")
