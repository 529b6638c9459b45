"""Fine-tuning page (not built yet)."""

import streamlit as st

from pages.common import not_built

st.title("Fine-tuning")
not_built("one-click background LoRA runs with live charts.")
