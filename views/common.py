"""Streamlit helpers shared by the pages: the cached workspace and small renderers."""

from __future__ import annotations

import os

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


def workspace() -> Workspace:
    """The workspace named by LADDER_HOME, opened once per server process."""
    return _workspace(os.environ.get("LADDER_HOME", ""))


@st.cache_resource(show_spinner=False)
def _workspace(home: str) -> Workspace:
    return open_workspace()


def not_built(what: str) -> None:
    """An honest placeholder for a screen whose feature has not been built yet."""
    what = what[:1].upper() + what[1:]
    st.info(
        f"**Not built yet.** {what} This screen will be enabled when the feature lands; "
        "nothing here runs yet.",
        icon=":material/construction:",
    )


def models_frame(specs, cache_root=None):
    import pandas as pd

    from core.models.local import is_cached

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
        if cache_root is not None:
            rows[-1]["status"] = (
                "ready" if not s.kind == "packaged" or is_cached(cache_root, s.id)
                else "converted on first use (~30 s)"
            )
    return pd.DataFrame(rows)
