"""Dynamic prompts: knowledge bases, a search inspector, and the prompt each row would get."""

from pathlib import Path

import pandas as pd  # before plotly: avoids a first-load import race (docs/platform-notes.md)
import streamlit as st

from core import retrieval as R
from core.embeddings import EmbeddingError
from core.prompts.dynamic_variants import preview_template
from core.prompts.template import TemplateError
from core.retrieval.preview import preview_row
from views.common import flash, pick_dataset, show_flash, workspace
from views.dynamic_eval import evaluation_section

ws = workspace()
SAMPLE_KB = Path(__file__).resolve().parents[1] / "examples" / "knowledge_base"
ERRORS = (R.RetrievalError, EmbeddingError, TemplateError, ValueError)
TYPES = ["txt", "md", "markdown", "csv", "pdf", "html", "htm"]

st.title("Dynamic prompts")
st.caption("Build each prompt from the content most similar to its input: retrieved chunks "
           "fill `{context}`, the most similar labelled train rows fill `{examples}`.")
show_flash("kb")


def progress_bar(label: str):
    bar = st.progress(0.0, text=label)
    return lambda msg, frac: bar.progress(min(max(frac, 0.0), 1.0), text=msg)


def hits_frame(hits) -> pd.DataFrame:
    return pd.DataFrame([{"rank": h.rank, "score": round(h.score, 4),
                          "similarity": round(h.similarity, 4), "source": h.source,
                          "where": h.where, "chunk": h.document, "why": h.why} for h in hits])


# ---------------------------------------------------------------- knowledge bases
st.header("Knowledge bases")
kbs = R.list_kbs(ws)
if kbs:
    st.dataframe(pd.DataFrame(kbs)[["name", "documents", "chunks", "chunk_mode", "chunk_size",
                                    "overlap", "ef_search"]], hide_index=True)
c1, c2 = st.columns(2)
with c1.expander("Create a knowledge base", expanded=not kbs):
    with st.form("kb_create"):
        new_name = st.text_input("Name", key="kb_new_name", placeholder="help-center")
        mode = st.selectbox("Chunking", ["paragraphs", "tokens"], key="kb_new_mode",
                            help="paragraphs: by heading and paragraph; tokens: a sliding window")
        size = st.number_input("Chunk size (tokens)", 8, 254, 128, key="kb_new_size")
        overlap = st.number_input("Overlap (tokens)", 0, 253, 16, key="kb_new_overlap")
        if st.form_submit_button("Create"):
            try:
                R.create_kb(ws, new_name.strip(), R.ChunkSettings(mode, int(size), int(overlap)))
                flash("kb", f"Created knowledge base '{new_name.strip()}'.")
            except ERRORS as e:
                st.error(str(e))
with c2.expander("Sample help center", expanded=not kbs):
    st.write(f"{len(list(SAMPLE_KB.glob('*.md')))} help-center articles from `examples/`.")
    if st.button("Load the sample knowledge base", key="kb_sample"):
        try:
            kb = (R.open_kb(ws, "help-center") if any(k["name"] == "help-center" for k in kbs)
                  else R.create_kb(ws, "help-center"))
            res = R.add_files(kb, sorted(SAMPLE_KB.glob("*.md")),
                              progress=progress_bar("Embedding the sample"))
            flash("kb", f"help-center: {sum(r.added for r in res)} chunks added, "
                        f"{sum(r.skipped for r in res)} already stored.")
        except ERRORS as e:
            st.error(str(e))

kbs = R.list_kbs(ws)
if not kbs:
    st.info("No knowledge base yet: create one above, or load the sample. Dynamic few-shot "
            "(similar examples) needs no knowledge base:")
    evaluation_section(ws, pick_dataset(ws, "dv_dataset"), None)
    st.stop()
kb_name = st.selectbox("Knowledge base", [k["name"] for k in kbs], key="kb_pick")
kb = R.open_kb(ws, kb_name)

with st.expander(f"Documents of '{kb.name}' ({kb.chunk.label()})", expanded=True):
    files = st.file_uploader("Add files (txt, md, csv rows, pdf, html)", type=TYPES,
                             accept_multiple_files=True, key="kb_upload")
    if files and st.button(f"Add {len(files)} file(s)", key="kb_add"):
        bar = progress_bar("Reading files")
        lines = []
        for f in files:
            try:
                r = R.add_document(kb, R.load_bytes(f.name, f.getvalue()), path="upload",
                                   progress=bar)
                lines.append(f"{r.document}: {r.status}, {r.added} new chunks, "
                             f"{r.skipped} already stored")
            except ERRORS as e:
                lines.append(f"{f.name}: not added: {e}")
        flash("kb", "  \n".join(lines))
    docs = R.list_documents(kb)
    if docs:
        st.dataframe(pd.DataFrame(docs)[["name", "kind", "chunks", "bytes", "chunk_mode",
                                         "chunk_size", "chunk_overlap"]], hide_index=True)
        d1, d2 = st.columns([3, 1])
        victim = d1.selectbox("Document", [d["name"] for d in docs], key="kb_doc")
        if d2.button("Delete document", key="kb_delete_doc"):
            flash("kb", f"Deleted {victim} ({R.delete_document(kb, victim)} chunks).")
    r1, r2, r3, r4 = st.columns(4)
    re_mode = r1.selectbox("Mode", ["paragraphs", "tokens"], key="kb_re_mode",
                           index=["paragraphs", "tokens"].index(kb.chunk.mode))
    re_size = r2.number_input("Chunk size", 8, 254, kb.chunk.size, key="kb_re_size")
    re_overlap = r3.number_input("Overlap", 0, 253, kb.chunk.overlap, key="kb_re_overlap")
    if r4.button("Re-index", key="kb_reindex", disabled=not docs):
        try:
            kb = R.reindex(kb, R.ChunkSettings(re_mode, int(re_size), int(re_overlap)),
                           progress_bar("Re-indexing"))
            flash("kb", f"Re-indexed '{kb.name}' ({kb.chunk.label()}).")
        except ERRORS as e:
            st.error(str(e))

# ---------------------------------------------------------------- search inspector
st.header("Search inspector")
s1, s2, s3, s4, s5 = st.columns([4, 1, 1, 1, 1])
query = s1.text_input("Query", key="search_query", placeholder="locked out after too many tries")
k = s2.number_input("k", 1, 50, 5, key="search_k")
threshold = s3.number_input("Min similarity", 0.0, 1.0, 0.0, 0.05, key="search_threshold")
hybrid = s4.toggle("Hybrid (BM25)", key="search_hybrid")
diverse = s5.toggle("MMR", key="search_mmr")
if query.strip():
    try:
        hits = R.search(kb, query, int(k), threshold=threshold or None, hybrid=hybrid,
                        mmr_diversity=diverse)
        if hits:
            st.dataframe(hits_frame(hits), hide_index=True)
        else:
            st.warning("No chunk reaches the minimum similarity; lower it.")
    except ERRORS as e:
        st.error(str(e))

e1, e2, e3 = st.columns([1, 1, 2])
ef = e1.number_input("HNSW ef_search", 10, 10_000, kb.ef_search, 50, key="kb_ef",
                     help="How many graph neighbours a query explores: higher finds more of "
                          "the true nearest chunks, and is slower.")
if ef != kb.ef_search and e1.button("Apply ef_search", key="kb_ef_apply"):
    flash("kb", f"ef_search is now {R.set_ef_search(kb, int(ef)).ef_search}.")
if e2.button("Check recall", key="kb_recall"):
    try:
        st.session_state["kb_recall_result"] = R.recall_check(kb, sample=200, k=5)
    except ERRORS as e:
        st.error(str(e))
rec = st.session_state.get("kb_recall_result")
if rec and rec["knowledge_base"] == kb.name:
    e2.metric("recall@5", f"{rec['recall']:.3f}", help="HNSW results vs exact search")
    (e3.success if rec["ok"] else e3.warning)(
        f"{rec['sample']} queries over {rec['chunks']} chunks at ef_search {rec['ef_search']}: "
        f"{rec['advice']} HNSW {rec['hnsw_ms_per_query']} ms/query, exact "
        f"{rec['exact_ms_per_query']} ms/query.")

# ---------------------------------------------------------------- prompt preview
st.header("Dynamic prompt preview")
ds = pick_dataset(ws, "dyn_dataset")
if ds is not None:
    p1, p2, p3, p4 = st.columns(4)
    row_id = int(p1.number_input("Row", 0, max(ds["rows"] - 1, 0), 0, key="dyn_row"))
    use_kb = p2.toggle("Retrieved context", value=True, key="dyn_use_kb")
    kb_k = p3.number_input("Chunks", 1, 20, 3, key="dyn_kb_k")
    budget = p4.number_input("Context token budget", 16, 8000, 400, key="dyn_budget")
    shots = p2.number_input("Similar examples", 0, 16, 3, key="dyn_shots")
    template = st.text_area("Template", key=f"dyn_template_{ds['task']}", height=140,
                            value=preview_template(ds["task"]))
    try:
        pv = preview_row(ws, ds["name"], row_id, template, shots=int(shots),
                         kb=kb if use_kb else None, kb_k=int(kb_k), token_budget=int(budget))
        st.caption(f"Row {row_id} ({pv.split} split), expected answer: **{pv.row['target']}**")
        st.code(pv.prompt.user, language=None, wrap_lines=True)
        if pv.context is not None:
            ctx = pv.context
            st.subheader(f"Chunks chosen ({ctx.tokens}/{ctx.budget} tokens)")
            st.dataframe(hits_frame(ctx.chunks + ctx.dropped).assign(
                used=[True] * len(ctx.chunks) + [False] * len(ctx.dropped)), hide_index=True)
        if pv.examples:
            st.subheader("Examples chosen (train split only, never this row)")
            st.dataframe(pd.DataFrame(pv.examples), hide_index=True)
    except ERRORS as e:
        st.error(str(e))

# ---------------------------------------------------------------- static vs dynamic evaluation
evaluation_section(ws, ds, kb.name)
