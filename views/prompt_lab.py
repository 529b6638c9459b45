"""Prompt Lab (rung 1): write prompt variants, run them over a dataset, compare and iterate."""

import pandas  # noqa: F401  -- before plotly (first-load race, docs/platform-notes.md)
import streamlit as st

from core.errors import LadderError
from core.evals.config import EvalConfig
from core.evals.engine import create_run
from core.evals.rows import load_rows
from core.evals.scorers import ScorerConfig
from core.evals.scorers import names as scorer_names
from core.evals.store import list_runs
from core.evals.worker import submit_eval
from core.prompts import store as pstore
from core.prompts.files import dump_prompts, parse_prompts
from core.prompts.template import TemplateError
from core.prompts.variants import Variant
from views.common import TRUNCATE_CHOICES, pick_dataset, workspace
from views.eval_views import (
    confusion_view,
    leaderboard_view,
    matrix_view,
    progress_panel,
    run_picker,
)

ws = workspace()
st.title("1 · Prompt Lab")
st.caption("Write several versions of a prompt, run them over varied rows of your dataset, "
           "and keep the one that is most accurate and most consistent. Every edit is kept "
           "as a version; every answer is stored, so nothing is computed twice.")

dataset = pick_dataset(ws, key="pl_dataset")
if dataset is None:
    st.stop()

set_id = pstore.dataset_set(ws, dataset["name"])  # the CLI's prompts files join it too
variants = pstore.current_variants(ws, set_id)

tab_edit, tab_run, tab_results = st.tabs(["Variants", "Run", "Results"], key="pl_view",
                                        on_change="rerun")  # kept across a run's reruns

with tab_edit:
    if not variants:
        st.info("This prompt set is empty. Start from the example variants (zero-shot, "
                "few-shot, and a 1-10 scale wording) or add your own below.")
        earlier = list_runs(ws, dataset["name"], purpose="prompt_lab")
        if earlier and st.button(f"Add the variants run #{earlier[0]['id']} used",
                                 key="pl_from_run", help="A run made from a prompts file "
                                 "before `ladder eval` kept its variants here."):
            pstore.join_from_run(ws, earlier[0]["id"])
            st.rerun()
        if st.button("Add the example variants", type="primary", key="pl_examples"):
            from pathlib import Path

            text = (Path(__file__).resolve().parents[1] / "examples" / "prompts.yaml").read_text()
            pstore.save_all(ws, set_id, parse_prompts(text, "examples/prompts.yaml"))
            st.rerun()
    st.caption("Placeholders: `{input}`, `{labels}`, `{examples}` (few-shot block from the train "
               "split), `{context}`, and any column of the dataset by name, e.g. "
               f"`{{{dataset['input_col']}}}`.")
    if dataset["task"] == "classification":
        from core.datasets.versions import get_version, load_frame
        from core.prompts.dynamic_variants import many_labels_note

        frame = load_frame(ws, get_version(ws, dataset["name"]))
        note = many_labels_note(frame[dataset["target_col"]].astype(str).str.strip()
                                .replace("", None).nunique())
        if note:
            st.info(note, icon=":material/lightbulb:")
            st.page_link("views/dynamic.py", label="Go to Dynamic prompts",
                         icon=":material/hub:")
    from core.prompts.variants import input_warning

    for v in variants:
        if warning := input_warning(v, dataset["input_col"]):
            st.warning(warning)
        with st.expander(f"**{v.name}** · few-shot {v.few_shot}", expanded=False):
            with st.form(f"edit_{v.name}"):
                system = st.text_area("System", v.system or "", key=f"sys_{v.name}")
                template = st.text_area("Template", v.template, height=160, key=f"tpl_{v.name}")
                c1, c2 = st.columns(2)
                few = c1.number_input("Few-shot examples", 0, 64, v.few_shot, key=f"fs_{v.name}")
                fmt = c2.text_input("Output instructions", v.output_format, key=f"of_{v.name}")
                saved = st.form_submit_button("Save as new version")
            if saved:
                try:
                    nv = Variant(**(v.model_dump() | dict(system=system or None, template=template,
                                                          few_shot=int(few), output_format=fmt)))
                    nv.check_columns(dataset["columns"])
                    ver = pstore.save_variant(ws, set_id, nv)
                    st.success(f"Saved '{v.name}' as version {ver}.")
                    st.rerun()
                except (LadderError, ValueError) as e:
                    st.error(f"Not saved: {e}")
            hist = pstore.history(ws, set_id, v.name)
            if len(hist) > 1:
                pick = st.selectbox("Compare with version", [h["version"] for h in hist[:-1]],
                                    key=f"hist_{v.name}")
                old = next(h["variant"] for h in hist if h["version"] == pick)
                st.code(pstore.diff(old, v) or "(no change)", language="diff")
            if st.button("Delete this variant", key=f"del_{v.name}"):
                pstore.delete_variant(ws, set_id, v.name)
                st.rerun()

    with st.form("new_variant", clear_on_submit=True):
        st.markdown("**New variant**")
        name = st.text_input("Name", placeholder="e.g. zero-shot-strict")
        system = st.text_area("System", "")
        template = st.text_area("Template", "Text: {input}\nCategory ({labels}):")
        few = st.number_input("Few-shot examples", 0, 64, 0)
        if st.form_submit_button("Add variant"):
            try:
                if any(x.name.lower() == name.strip().lower() for x in variants):
                    raise TemplateError(f"A variant named '{name}' exists; choose another name.")
                nv = Variant(name=name, system=system or None, template=template,
                             few_shot=int(few))
                nv.check_columns(dataset["columns"])
                pstore.save_variant(ws, set_id, nv)
                st.rerun()
            except (LadderError, ValueError) as e:
                st.error(f"Not added: {e}")

    c1, c2 = st.columns(2)
    c1.download_button("Export variants (YAML)", dump_prompts(variants) if variants else "",
                       file_name="prompts.yaml", disabled=not variants, key="pl_export")
    up = c2.file_uploader("Import variants (YAML)", type=["yaml", "yml"], key="pl_import")
    if up is not None and st.button("Import", key="pl_do_import"):
        try:
            imported = parse_prompts(up.getvalue().decode("utf-8"), up.name)
            for v in imported:
                v.check_columns(dataset["columns"])
            for v in imported:
                pstore.save_variant(ws, set_id, v)
            st.success(f"Imported {len(imported)} variants.")
            st.rerun()
        except (LadderError, UnicodeDecodeError, ValueError) as e:
            st.error(f"Nothing imported: {e}")

with tab_run:
    if not variants:
        st.info("Add at least one variant first.")
    else:
        chosen = st.multiselect("Variants", [v.name for v in variants],
                                default=[v.name for v in variants], key="pl_variants")
        c1, c2, c3 = st.columns(3)
        model = c1.selectbox("Model", [m.id for m in ws.registry.list()], key="pl_model")
        split = c2.selectbox("Rows", ["test", "validation", "train"], key="pl_split")
        limit = c3.number_input("Sample N rows (0 = all)", 0, 100_000, 0, key="pl_limit")
        c1, c2, c3 = st.columns(3)
        samples = c1.number_input("Samples per row (consistency)", 1, 20, 1, key="pl_k")
        temperature = c2.number_input("Temperature", 0.0, 2.0, 0.0 if samples == 1 else 0.7,
                                      0.1, key="pl_temp")
        scoring = c3.selectbox(
            "Classification answers", ["auto", "likelihood", "generate"], key="pl_scoring",
            help="likelihood: score each label by log-likelihood (robust for small models); "
                 "generate: free text, then extract the label. auto: likelihood with 1 sample.")
        calibrate = st.checkbox(
            "Calibrate label scores", value=True, key="pl_cal",
            help="Subtract each label's score on content-free inputs, which removes a small "
                 "model's bias toward some labels (likelihood scoring only).")
        scorer_kind = "auto"
        tolerance, pattern, judge = 0.0, None, None
        if dataset["task"] == "scale":
            tolerance = st.number_input("Tolerance (a pass if |answer - target| <= tolerance)",
                                        0.0, 100.0, 1.0, key="pl_tol")
        elif dataset["task"] == "free_text":
            scorer_kind = st.selectbox(
                "Scorer", ["auto", *scorer_names("free_text")], key="pl_scorer",
                help="auto: JSON targets -> json_fields, short answers -> token_f1, "
                     "otherwise chrf (see docs/scorers.md)")
            if scorer_kind == "regex":
                pattern = st.text_input("Pattern", key="pl_pattern")
            if scorer_kind == "judge":
                judge = st.selectbox("Judge model", [m.id for m in ws.registry.list()],
                                     key="pl_judge")
        cut = st.selectbox("Inputs too long for the model's context", list(TRUNCATE_CHOICES),
                           key="pl_truncate",
                           help="Checked before the run: refused with how many and the longest, "
                                "or cut to fit and listed with the results.")
        if st.button("Run", type="primary", key="pl_run"):
            try:
                cfg = EvalConfig(
                    dataset=dataset["name"], split=split, limit=int(limit) or None,
                    models=[model], variants=[v for v in variants if v.name in chosen],
                    scoring=scoring, samples=int(samples), temperature=float(temperature),
                    calibrate=calibrate, truncate=TRUNCATE_CHOICES[cut],
                    scorer=ScorerConfig(kind=scorer_kind, tolerance=tolerance, pattern=pattern,
                                        judge_model=judge))
                run_id = create_run(ws, cfg)
                submit_eval(ws, run_id, label=f"Prompt Lab: {dataset['name']}")
                st.session_state["pl_pick"] = run_id  # the Results tab shows the new run
                st.success(f"Run #{run_id} started; follow it on the Results tab.")
            except (LadderError, ValueError) as e:
                from core.models.spec import describe_validation_error

                st.error(f"Not started: {describe_validation_error(e)}")

with tab_results:
    run_id = run_picker(ws, dataset["name"], key="pl_pick")
    if run_id is not None:
        progress_panel(ws, run_id)
        board = leaderboard_view(ws, run_id, export_key="pl_csv", show_scorer=True)
        names = [v.name for v in variants]
        if board and names:
            c1, c2 = st.columns([2, 1])
            best = max(board, key=lambda e: e.get("score") or 0).get("name")
            pick = c1.selectbox("Fine-tune with the variant", names, key="pl_ft_variant",
                                index=names.index(best) if best in names else 0)
            if c2.button("Fine-tune with this variant →", key="pl_ft_go"):
                from views.finetune_prompt import start_from

                start_from(pick)
        if board:
            data = load_rows(ws, dataset["name"], "all")
            st.subheader("Rows x variants")
            matrix_view(ws, run_id, data.rows, key="pl")
            if dataset["task"] == "classification":
                st.subheader("Confusion matrix")
                confusion_view(ws, run_id, board, {r["row_id"]: r["target"] for r in data.rows},
                               key="pl")
