"""Prompt Lab page (not built yet)."""

import streamlit as st

from pages.common import not_built

st.title("Prompt Lab")
not_built("prompt variants run over your dataset, scored for accuracy and consistency.")
