"""Tuning Ladder dashboard: the router. Loads settings and lists the pages; nothing else."""

import pandas  # noqa: F401  -- before plotly: avoids a first-load import race (PITFALLS.md)
import streamlit as st

from pages.common import workspace

st.set_page_config(page_title="Tuning Ladder", page_icon=":material/stairs:", layout="wide")
workspace()  # opens the workspace (and sets offline mode) before any page runs

pages = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "The ladder": [
        st.Page("pages/data.py", title="Data", icon=":material/table_view:"),
        st.Page("pages/prompt_lab.py", title="1 · Prompt Lab", icon=":material/edit_note:"),
        st.Page("pages/dynamic.py", title="2 · Dynamic prompts", icon=":material/manage_search:"),
        st.Page("pages/compare.py", title="3 · Model comparison", icon=":material/balance:"),
        st.Page("pages/finetune.py", title="4 · Fine-tuning", icon=":material/model_training:"),
    ],
    "Setup": [st.Page("pages/models.py", title="Models", icon=":material/memory:")],
}
st.navigation(pages).run()
