"""The Fine-tuning page's prompt section: start from the default (with the dataset's context
column) or from a Prompt Lab variant, optionally with similar examples and retrieved passages.

What rungs 1-2 found is what rung 4 trains: the variant, its dynamic examples and its
knowledge base go into the run's settings as `ladder finetune start --prompts FILE --variant
V --kb NAME` would put them.
"""

import streamlit as st

from core.finetune.prompting import default_variant, prompt_record
from core.prompts.dynamic_variants import EXAMPLES_HEADER
from core.prompts.variants import Variant

DEFAULT = "the default prompt"
PICK_KEY = "ft_prompt_pick"  # set by the Prompt Lab's "Fine-tune with this variant"
DYNAMIC_KEY = "ft_prompt_dynamic"  # (similar k, knowledge base) from the Dynamic prompts page


def start_from(static: str | None, similar: int = 0, kb: str | None = None) -> None:
    """Open the Fine-tuning page with this prompt chosen (a Prompt Lab variant by name, or the
    default when None), its similar train rows and its knowledge base."""
    st.session_state[PICK_KEY] = f"Prompt Lab: {static}" if static else DEFAULT
    st.session_state[DYNAMIC_KEY] = (int(similar), kb)
    st.switch_page("views/finetune.py")


def prompt_section(ws, dataset: dict, task: str) -> dict:
    """Widgets for the run's prompt; returns the settings they stand for."""
    from core.datasets.versions import get_version
    from core.prompts import store as pstore
    from core.retrieval import list_kbs

    context_col = get_version(ws, dataset["name"]).mapping.context_col
    variants = pstore.current_variants(ws, pstore.dataset_set(ws, dataset["name"]))
    options = [DEFAULT] + [f"Prompt Lab: {v.name}" for v in variants]
    wanted = st.session_state.pop(PICK_KEY, None)
    if wanted in options:
        st.session_state[f"ft_pick_{dataset['name']}"] = wanted
    kbs = [k["name"] for k in list_kbs(ws)]
    similar_k, kb_wanted = st.session_state.pop(DYNAMIC_KEY, (None, None))
    if wanted in options and similar_k is not None:
        st.session_state[f"ft_similar_{wanted}"] = similar_k
        st.session_state["ft_kb"] = kb_wanted if kb_wanted in kbs else "(none)"
    with st.expander("Prompt (used for training and for before/after)",
                     expanded=bool(context_col or wanted)):
        c1, c2 = st.columns([2, 1])
        pick = c1.selectbox("Start from", options, key=f"ft_pick_{dataset['name']}",
                            help="A variant you tried in the Prompt Lab trains exactly as it "
                                 "ran there (its system message and template).")
        base = (default_variant(task, bool(context_col)) if pick == DEFAULT
                else variants[options.index(pick) - 1])
        similar = c2.number_input("Similar train rows as examples", 0, 16,
                                  base.few_shot if base.few_shot_mode == "similar" else 0,
                                  key=f"ft_similar_{pick}",
                                  help="Dynamic few-shot: each row's prompt shows its k most "
                                       "similar train rows (never the row itself).")
        c1, c2 = st.columns([2, 1])
        kb = c1.selectbox("Knowledge base for {context}", ["(none)"] + kbs, key="ft_kb",
                          help="Each row's {context} is retrieved from this knowledge base at "
                               "training time, as it will be when the model is used.")
        kb_k = c2.number_input("Chunks per row", 1, 20, 3, key="ft_kb_k",
                               disabled=kb == "(none)")
        template = base.template
        if similar and "{examples}" not in template:
            template = EXAMPLES_HEADER + template
        if kb != "(none)" and "{context}" not in template:
            template = "Reference material:\n{context}\n\n" + template
        system = st.text_area("System message", base.system or "", key=f"ft_sys_{task}_{pick}",
                              help="Placeholders: {labels}, {input} and any column.")
        template = st.text_area("User message", template,
                                key=f"ft_tpl_{task}_{pick}_{bool(similar)}_{kb != '(none)'}")
        values = {"variant": {"name": base.name, "template": template, "system": system or None,
                              "few_shot": int(similar),
                              "few_shot_mode": "similar" if similar else "fixed",
                              "example_template": base.example_template,
                              "output_format": base.output_format},
                  "prompt_source": None if pick == DEFAULT else f"the Prompt Lab of "
                                                                 f"'{dataset['name']}'",
                  "kb": None if kb == "(none)" else kb, "kb_k": int(kb_k)}
        try:
            Variant(**values["variant"])
            st.caption(prompt_record({**values, "context_col": context_col})["note"])
        except ValueError as e:
            st.error(f"This prompt cannot be used: {e}")
    return values
