"""Model comparison page (not built yet)."""

import streamlit as st

from pages.common import not_built

st.title("Model comparison")
not_built("accuracy, latency and cost side by side, with the break-even volume.")
