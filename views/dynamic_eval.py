"""Static vs dynamic evaluation (rung 2), drawn at the bottom of the Dynamic prompts page.

The chosen static variant is run with two dynamic versions of itself on the same
rows: the k most similar train rows as few-shot examples, and retrieved
knowledge-base chunks as context; `core.prompts.dynamic_variants` builds them, as it
does for `ladder eval --few-shot-k K --kb NAME`. The leaderboard shows each with its interval,
and each dynamic version's difference from the static one with a paired test.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import LadderError
from core.evals.config import EvalConfig
from core.evals.engine import create_run
from core.evals.store import list_runs
from core.evals.summary import dynamic_gains
from core.evals.worker import submit_eval
from core.prompts import store as pstore
from core.prompts.dynamic_variants import default_static, is_static, static_vs_dynamic
from views.eval_views import leaderboard_view, progress_panel


def evaluation_section(ws, ds: dict | None, kb_name: str | None) -> None:
    st.header("Static vs dynamic evaluation")
    if ds is None:
        st.info("Choose a dataset above to compare the static prompt with dynamic ones.")
        return
    statics = [v for v in pstore.current_variants(ws, pstore.dataset_set(ws, ds["name"]))
               if is_static(v, use_kb=True)] or [default_static(ds["task"])]
    c1, c2, c3 = st.columns(3)
    name = c1.selectbox("Static variant (from the Prompt Lab)", [v.name for v in statics],
                        key="dv_static")
    model = c2.selectbox("Model", [m.id for m in ws.registry.list()], key="dv_model")
    limit = c3.number_input("Sample N test rows (0 = all)", 0, 100_000, 0, key="dv_limit")
    c1, c2, c3 = st.columns(3)
    k_ex = c1.number_input("Similar examples (k)", 0, 16, 3, key="dv_k")
    use_kb = c2.toggle("Retrieved context", value=kb_name is not None,
                       disabled=kb_name is None, key=f"dv_kb_{kb_name}")
    kb_k = c3.number_input("Chunks per row", 1, 20, 3, key="dv_kb_k")
    if st.button("Run static vs dynamic", type="primary", key="dv_run"):
        try:
            static = next(v for v in statics if v.name == name)
            variants = static_vs_dynamic([static], int(k_ex), bool(use_kb and kb_name))
            cfg = EvalConfig(dataset=ds["name"], split="test", limit=int(limit) or None,
                             models=[model], variants=variants,
                             kb=kb_name if use_kb else None, kb_k=int(kb_k))
            run_id = create_run(ws, cfg, purpose="dynamic")
            submit_eval(ws, run_id, label=f"Dynamic vs static: {ds['name']}")
            st.session_state["dv_pick"] = run_id  # show the new run below
            st.success(f"Run #{run_id} started.")
        except (LadderError, ValueError) as e:
            st.error(f"Not started: {e}")

    runs = list_runs(ws, ds["name"], purpose="dynamic")
    if not runs:
        return
    labels = {r["id"]: f"#{r['id']} · {r['name']} · {r['model_id']}" for r in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="dv_pick")
    progress_panel(ws, run_id)
    board = leaderboard_view(ws, run_id, export_key="dv_csv", show_scorer=True)
    if board:
        st.subheader("Difference from the static prompt")
        st.dataframe(differences(ws, run_id), hide_index=True, width="stretch")
        _finetune_button(ws, ds, run_id, board)
    _retrieval_quality(ws, ds, kb_name, int(kb_k), run_id)


def _finetune_button(ws, ds: dict, run_id: int, board: list[dict]) -> None:
    """Start a fine-tune from one of the run's variants, its dynamic parts included."""
    from core.evals.store import get_run
    from views.finetune_prompt import start_from

    cfg = get_run(ws, run_id)["config"]
    by_name = {v["name"]: v for v in cfg["variants"]}
    names = [e["name"] for e in sorted(board, key=lambda e: -(e.get("score") or 0))
             if e["name"] in by_name]
    c1, c2 = st.columns([2, 1])
    pick = c1.selectbox("Fine-tune with the variant", names, key="dv_ft_variant",
                        help="The fine-tune trains with this prompt, its similar examples "
                             "and its retrieved context, as this run built them.")
    if c2.button("Fine-tune with this variant →", key="dv_ft_go"):
        v = by_name[pick]
        static = cfg["variants"][0]["name"]  # the static variant the dynamic ones came from
        known = {x.name for x in pstore.current_variants(ws, pstore.dataset_set(ws, ds["name"]))}
        similar = v.get("few_shot", 0) if v.get("few_shot_mode") == "similar" else 0
        kb = cfg.get("kb") if "{context}" in v["template"] else None
        start_from(static if static in known else None, similar, kb)


def differences(ws, run_id: int) -> pd.DataFrame:
    """Each dynamic variant against the static one of its model, paired on the same rows."""
    out = []
    for g in dynamic_gains(ws, run_id):
        if g["diff"] is None:
            continue
        out.append({"dynamic variant": g["dynamic"], "vs": g["static"], "rows": g["rows"],
                    "difference (points)": round(g["diff"] * 100, 1),
                    "95% CI low": round(g["diff_ci_low"] * 100, 1),
                    "95% CI high": round(g["diff_ci_high"] * 100, 1),
                    "p": round(g["p_value"], 4), "verdict": g["verdict"]})
    return pd.DataFrame(out)


def _retrieval_quality(ws, ds: dict, kb_name: str | None, k: int, run_id: int) -> None:
    """Hit rate@k and MRR against the gold passages (the context column), and the run's
    answer scores split by whether the gold passage was retrieved."""
    from core.datasets import get_version
    from core.evals.gold import advice, gold_recall

    if not get_version(ws, ds["name"]).mapping.context_col or kb_name is None:
        return
    st.subheader("Retrieval against the gold passages")
    st.caption("Each test row's context column holds the passage its question was asked "
               "about: did the knowledge base find it, and does the answer depend on it?")
    if st.button(f"Measure hit rate@{k} and MRR", key="dv_hits"):
        try:
            with st.spinner("Searching the knowledge base for every test row…"):
                rec = gold_recall(ws, kb_name, ds["name"], "test", k, run_id=run_id)
        except LadderError as e:
            st.error(str(e))
            return
        c1, c2, c3 = st.columns(3)
        c1.metric(f"hit rate@{k}", f"{rec['hit_rate']:.3f}")
        c2.metric("MRR", f"{rec['mrr']:.3f}")
        c3.metric("questions", f"{rec['n']:,}")
        if rec["by_retrieval"]:
            st.dataframe(pd.DataFrame(rec["by_retrieval"]).rename(columns={
                "retrieved_n": "rows, gold retrieved", "retrieved_score": "score, retrieved",
                "missed_n": "rows, gold missed", "missed_score": "score, missed"}),
                hide_index=True, width="stretch")
        st.info(advice(rec))
