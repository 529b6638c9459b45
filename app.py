"""Tuning Ladder dashboard: the router. Loads settings and lists the pages; nothing else."""

import pandas  # noqa: F401  -- before plotly: avoids a first-load import race (docs/platform-notes.md)
import streamlit as st

from views.common import workspace

st.set_page_config(page_title="Tuning Ladder", page_icon=":material/stairs:", layout="wide")
workspace()  # opens the workspace (and sets offline mode) before any page runs

pages = {
    "": [st.Page("views/home.py", title="Home", icon=":material/home:", default=True)],
    "The ladder": [
        st.Page("views/data.py", title="Data", icon=":material/table_view:"),
        st.Page("views/prompt_lab.py", title="1 · Prompt Lab", icon=":material/edit_note:"),
        st.Page("views/dynamic.py", title="2 · Dynamic prompts", icon=":material/manage_search:"),
        st.Page("views/compare.py", title="3 · Model comparison", icon=":material/balance:"),
        st.Page("views/finetune.py", title="4 · Fine-tuning", icon=":material/model_training:"),
    ],
    "Setup": [st.Page("views/models.py", title="Models", icon=":material/memory:")],
}
st.navigation(pages).run()
