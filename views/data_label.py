"""The Data page's "Label with a model" tab: a teacher labels the rows that have no label.

The labelling runs as a background job (core.labelling.worker); this tab starts it, shows
its progress with the time left, stops it, and reports what it wrote.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import LadderError
from core.labelling.store import runs_for
from core.labelling.teacher import PROVENANCE, default_variant
from core.labelling.worker import latest_job, submit_label
from core.models import kinds
from core.prompts.store import current_variants, dataset_set
from views.common import TRUNCATE_CHOICES, flash


def label_section(ws, version, unlabelled: int) -> None:
    name, m = version.dataset, version.mapping
    _progress(ws, name)
    spent = runs_for(ws, name, version.hash)
    if spent:
        st.caption("This version's labels: " + "; ".join(
            f"{r.labelled} rows by {r.model_id} (${r.cost_usd:.4f}, {r.model_s:.0f} s of model "
            f"time)" for r in spent) + f". Column `{PROVENANCE}` says who labelled each row.")
    if not unlabelled:
        st.success(f"Every row of v{version.number} has a label; nothing to label.")
        return
    st.write(f"**{unlabelled:,} of {version.rows:,} rows have no label yet.** A registered "
             "model (the teacher) can label them: its answers become a new version, hand "
             "labels are kept, and fine-tuning can start on the result.")
    teachers = [s.id for s in sorted(ws.registry.list(), key=lambda s: not kinds.of(s).hosted)
                if kinds.of(s).prompted and kinds.of(s).runs_on(m.task)]  # hosted ones first
    if not teachers:
        st.info("Register a model on the Models page first (a hosted one is the usual teacher).")
        return
    variants = {v.name: v for v in current_variants(ws, dataset_set(ws, name))}
    variants.setdefault("teacher (built-in zero-shot)", default_variant(m.task))
    hand = version.rows - unlabelled
    c1, c2 = st.columns(2)
    teacher = c1.selectbox("Teacher model", teachers, key="lab_model")
    vname = c2.selectbox("Prompt variant", list(variants), key="lab_variant",
                         help="The Prompt Lab's variants of this dataset, or a zero-shot one.")
    with st.expander("Prompt the teacher gets"):
        st.code(variants[vname].template, language=None)
    c1, c2, c3 = st.columns(3)
    limit = c1.number_input("Label at most (rows, 0 = all)", 0, unlabelled, 0, key="lab_limit")
    gold = c2.number_input("Gold rows (hand labels kept as the test split)", 0, max(hand, 0),
                           min(40, hand), key="lab_gold", disabled=not hand or
                           "test" in version.given,
                           help="Teacher, student and baselines are then measured against "
                                "people on these rows.")
    labels = c3.text_input("Labels (only if no row has one)", key="lab_labels",
                           disabled=m.task != "classification" or bool(hand))
    c1, c2 = st.columns(2)
    cut = c1.selectbox("Inputs too long for the teacher's context", list(TRUNCATE_CHOICES), key="lab_cut",
                       help="Refused by default, with how many and the longest.")
    one = c2.checkbox("Keep a single label", key="lab_one",
                      disabled=m.task != "classification",
                      help="A teacher that gives every row the same label is refused by default: "
                           "it usually means the prompt or the teacher cannot tell the labels "
                           "apart.")
    if st.button("Label with the teacher", type="primary", key="lab_go"):
        try:
            st.session_state["lab_started"] = submit_label(ws, {"dataset": name, "model": teacher, "version": version.number,
                              "variant": variants[vname].model_dump(),
                              "limit": int(limit) or None,
                              "gold": int(gold) if gold and "test" not in version.given
                              else None,
                              "labels": [x.strip() for x in labels.split(",") if x.strip()]
                              or None, "truncate": TRUNCATE_CHOICES[cut], "allow_one_label": bool(one)})
            st.rerun()
        except LadderError as e:
            st.error(str(e))


def _progress(ws, name: str) -> None:
    from core.jobs import runner

    @st.fragment(run_every=2)
    def _panel():
        runner.refresh(ws)
        job = latest_job(ws, name)
        if job is None:
            return
        status = job.status or {}
        if job.state in ("queued", "running"):
            done, total = status.get("done") or 0, status.get("total") or 0
            eta = status.get("eta_s")
            st.progress(done / total if total else 0.0,
                        text=f"Labelling: {done}/{total} rows · {job.state}"
                             + (f" · about {eta:.0f} s left" if eta else ""))
            if st.button("Stop", key="lab_stop"):
                runner.cancel(ws, job.id)
                st.rerun()
            return
        if st.session_state.get("lab_started") == job.id:  # started here, just ended
            del st.session_state["lab_started"]
            if job.state == "succeeded" and job.result.get("version"):
                flash("data", f"Labelled: '{name}' version {job.result['version']} saved.")
            st.rerun(scope="app")
        if job.error:
            st.error(f"The last labelling stopped: {job.error}")
        elif job.state == "cancelled":
            st.warning("The last labelling was stopped; its answers are kept, so starting it "
                       "again resumes where it stopped.")
        elif job.result.get("label_run"):
            r = job.result["label_run"]
            st.success(f"Last labelling: {r['labelled']} of {r['asked']} rows by "
                       f"{r['model_id']} → version {job.result['version']}, ${r['cost_usd']:.4f}, "
                       f"{r['model_s']:.0f} s of model time"
                       + (f", {r['resumed']} answers resumed" if r["resumed"] else "") + ".")
            if r.get("check_rows"):
                st.info(f"Check against people: the teacher gave the hand label on "
                        f"{r['check_agreement']:.0%} of {r['check_rows']} hand-labelled rows. A "
                        "student learns its mistakes too: compare it with a classifier trained "
                        "on your hand labels before relying on its labels.")
            if r["unparsed"]:
                st.caption(f"{len(r['unparsed'])} answers named no label (rows left unlabelled):")
                st.dataframe(pd.DataFrame(r["unparsed"]), hide_index=True)

    _panel()
