"""Dynamic prompts page (not built yet)."""

import streamlit as st

from pages.common import not_built

st.title("Dynamic prompts")
not_built("retrieved context and similar examples, compared with the static prompt.")
