"""Streamlit helpers shared by the pages: the cached workspace and small renderers."""

from __future__ import annotations

import streamlit as st

from core.workspace import Workspace, open_workspace

RUNGS = [
    ("pages/prompt_lab.py", "1 · Prompt Lab",
     "Write prompt variants, run them over your data, compare accuracy and consistency."),
    ("pages/dynamic.py", "2 · Dynamic prompts",
     "Build each prompt from the most similar content or labelled examples."),
    ("pages/compare.py", "3 · Model comparison",
     "Accuracy, latency and cost of advanced, small and fine-tuned models; break-even volume."),
    ("pages/finetune.py", "4 · Fine-tuning",
     "Curated data, one-click LoRA runs with live training and validation curves."),
]


@st.cache_resource(show_spinner=False)
def workspace() -> Workspace:
    return open_workspace()


def not_built(what: str) -> None:
    """An honest placeholder for a screen whose feature has not been built yet."""
    what = what[:1].upper() + what[1:]
    st.info(
        f"**Not built yet.** {what} This screen will be enabled when the feature lands; "
        "nothing here runs yet.",
        icon="🚧",
    )


def models_frame(specs):
    import pandas as pd

    rows = []
    for s in specs:
        if s.kind == "openai":
            price = f"${s.price_in_per_m:g} in / ${s.price_out_per_m:g} out per 1M tokens"
        else:
            price = f"${s.hourly_cost:g} per hour" if s.hourly_cost is not None else "—"
        rows.append({
            "model": s.id, "kind": s.kind, "runs": "this machine" if s.is_local else s.base_url,
            "source": s.source, "price": price, "built in": s.builtin,
        })
    return pd.DataFrame(rows)
