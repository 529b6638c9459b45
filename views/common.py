"""Streamlit helpers shared by the pages: the cached workspace and small renderers."""

from __future__ import annotations

import os

import streamlit as st

from core.errors import LadderError
from core.workspace import Workspace, open_workspace

RUNGS = [
    ("views/prompt_lab.py", "1 · Prompt Lab",
     "Write prompt variants, run them over your data, compare accuracy and consistency."),
    ("views/dynamic.py", "2 · Dynamic prompts",
     "Build each prompt from the most similar content or labelled examples."),
    ("views/compare.py", "3 · Model comparison",
     "Accuracy, latency and cost of advanced, small and fine-tuned models; break-even volume."),
    ("views/finetune.py", "4 · Fine-tuning",
     "Curated data, one-click LoRA runs with live training and validation curves."),
]


def workspace() -> Workspace:
    """The workspace named by LADDER_HOME, opened once per server process.

    An unusable workspace (LADDER_HOME a file, an unwritable folder, a broken database)
    stops the page with the one-line reason instead of a traceback.
    """

    try:
        return _workspace(os.environ.get("LADDER_HOME", ""))
    except LadderError as e:
        st.error(str(e), icon=":material/folder_off:")
        st.stop()


@st.cache_resource(show_spinner=False)
def _workspace(home: str) -> Workspace:
    return open_workspace()


def flash(page: str, msg: str) -> None:
    """Rerun the page now and show `msg` at its top once (a message that survives st.rerun)."""
    st.session_state[f"{page}_flash"] = msg
    st.rerun()


def show_flash(page: str) -> None:
    """Show the message `flash` left for this page, once."""
    if msg := st.session_state.pop(f"{page}_flash", None):
        st.success(msg)


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

    from core.models import kinds

    rows = []
    for s in specs:
        k = kinds.find(s.kind)
        if k is not None and k.hosted:
            price = f"${s.price_in_per_m:g} in / ${s.price_out_per_m:g} out per 1M tokens"
        else:
            price = f"${s.hourly_cost:g} per hour" if s.hourly_cost is not None else "—"
        rows.append({
            "model": s.id, "kind": s.kind,
            "runs": "—" if k is None else "this machine" if k.local else s.base_url or "elsewhere",
            "source": s.source, "price": price, "built in": s.builtin,
        })
        if cache_root is not None:
            rows[-1]["status"] = ("kind not installed" if k is None else
                                  k.status(s, cache_root) if k.status else "ready")
    return pd.DataFrame(rows)


CURRENT_DATASET = "current_dataset"  # session state: the dataset last picked on any page


def dataset_choice(where, label: str, names: list[str], key: str, **kwargs) -> str:
    """A dataset selectbox whose pick stays picked on every page until changed.

    The pick of any page is kept in session state (CURRENT_DATASET) and preselected on the
    others where that dataset is offered; until one is picked, the newest dataset (first in
    `names`) is shown. A page that cannot offer it (e.g. Fine-tuning without a split) shows
    its first and leaves the pick alone until the user changes it there.
    """
    current = st.session_state.get(CURRENT_DATASET)
    if current in names:
        st.session_state[key] = current
    elif st.session_state.get(key) not in names:
        st.session_state.pop(key, None)

    def _picked() -> None:
        st.session_state[CURRENT_DATASET] = st.session_state[key]

    return where.selectbox(label, names, key=key, on_change=_picked, **kwargs)


def pick_dataset(ws, key: str) -> dict | None:
    """A dataset selector; shows a link to the Data page when there is none."""
    from core.datasets.versions import get_version, list_datasets

    datasets = list_datasets(ws)
    if not datasets:
        st.info("No dataset yet: import a CSV or load the sample data on the Data page.")
        st.page_link("views/data.py", label="Go to Data", icon=":material/table_view:")
        return None
    names = [d["name"] for d in datasets]
    name = dataset_choice(st, "Dataset", names, key)
    d = next(x for x in datasets if x["name"] == name)
    d["columns"] = list(get_version(ws, name).columns)
    if not d["split"]:
        st.warning("This dataset has no train/validation/test split yet; make one on the Data "
                   "page (few-shot examples come from the train split).")
    return d


def rung_status(summary: dict | None) -> list[tuple[bool, str]]:
    """(done, one sentence) for each rung, from `core.report.summary.ladder_summary`."""
    if summary is None:
        return [(False, "Load or import a dataset first.")] * 4
    out = []
    lab = summary.get("prompt_lab")
    best = lab and lab.get("best")
    out.append((bool(best), f"Best variant **{best['name']}** on `{lab['model']}`: "
                            f"{best['score']:.0%} [{best['ci_low']:.0%}, {best['ci_high']:.0%}]."
                if best else "Compare prompt variants on your data."))
    dyn = summary.get("dynamic")
    gain = dyn and dyn.get("gain")
    out.append((gain is not None and bool(dyn), f"Dynamic vs static: {gain * 100:+.1f} points."
                if dyn and gain is not None else "Try retrieved context or similar examples."))
    comp = summary.get("comparison")
    rec = comp and comp.get("recommendation")
    out.append((bool(comp), f"Recommended: **{rec}**." if rec else
                "Compare models on accuracy, latency and cost."))
    ft = summary.get("finetune")
    ok = ft and ft.get("before") and ft.get("after")
    out.append((bool(ok), f"Before {ft['before']['score']:.0%} → after "
                          f"{ft['after']['score']:.0%}." if ok else
                "Fine-tune a small model when the numbers say it pays."))
    return out


# The pages' choice for rows too long for a model's context (core.evals.fit).
TRUNCATE_CHOICES = {"refuse the run": None, "cut their end": "tail",
                    "cut their beginning": "head"}
