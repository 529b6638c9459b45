"""Data page (not built yet)."""

import streamlit as st

from pages.common import not_built

st.title("Data")
not_built("upload a CSV, map columns, check quality, fix and split.")
