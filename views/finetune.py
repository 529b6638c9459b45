"""Fine-tuning (rung 4): configure, start, watch and compare background LoRA runs."""

import pandas as pd  # before plotly: avoids a first-load import race (docs/platform-notes.md)
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core import jobs
from core.errors import LadderError
from core.finetune import PRESETS, build_config, service
from core.finetune.config import PRESET_HELP, FinetuneConfig
from core.finetune.plan import plan_run, trainable_models
from views.common import dataset_choice, flash, show_flash, workspace
from views.finetune_prompt import prompt_section

ws = workspace()
st.title("Fine-tuning")
st.caption("One click queues a fine-tune in the background: it keeps going if you close the tab "
           "or restart the server. Watch the curves live, stop it, resume it, and see the "
           "fine-tuned model beside its base (for a classifier: the embedding classifier) and "
           "the best prompt on the same test rows.")
show_flash("ft")

FIXED = {"base_model", "dataset", "dataset_hash", "variant", "dataset_version", "preset",
         "prompt_source", "kb", "kb_k", "context_col"}  # the prompt section sets these
FIELDS = FinetuneConfig.model_fields


def _widget(name: str, value, key: str, task: str = ""):
    f = FIELDS[name]
    if name == "scorer":
        from core.finetune.metric import scorer_choices

        choices = scorer_choices(task or None)
        return st.selectbox(name, choices, index=choices.index(value) if value in choices else 0,
                            key=f"{key}_{task}", help=f.description)
    if value is None and "float" in str(f.annotation):  # optional number: empty = unset
        return st.number_input(name, value=None, format="%g", key=key, help=f.description,
                               placeholder="unset")
    choices = getattr(f.annotation, "__args__", None)
    if choices and all(isinstance(c, str) for c in choices):
        return st.selectbox(name, choices, index=choices.index(value), key=key, help=f.description)
    if isinstance(value, bool):
        return st.checkbox(name, value, key=key, help=f.description)
    if isinstance(value, int):
        return st.number_input(name, value=value, step=1, key=key, help=f.description)
    if isinstance(value, float):
        return st.number_input(name, value=value, format="%g", key=key, help=f.description)
    return st.text_input(name, value, key=key, help=f.description)


def _score(s):
    if not s or s.get("score") is None:
        return "—"
    return f"{s['score']:.1%} [{s['ci_low']:.1%}, {s['ci_high']:.1%}]"


def new_run_tab():
    from core.finetune.approach import explain

    local = trainable_models(ws)
    from core.datasets import list_datasets

    datasets = [d for d in list_datasets(ws) if d["split"]]
    if not local or not datasets:
        st.info("Fine-tuning needs a local base model (Models page) and a dataset with a "
                "train/validation/test split (Data page: import, then split).")
        return
    c1, c2 = st.columns(2)
    model = c1.selectbox("Base model", local, key="ft_model",
                         help="A local model from the registry; API models cannot be trained.")
    names = [d["name"] for d in datasets]
    data = dataset_choice(c2, "Dataset (latest version)", names, "ft_data")
    task = next(d["task"] for d in datasets if d["name"] == data)
    preset = st.radio("Preset", list(PRESETS), horizontal=True, key="ft_preset",
                      format_func=str.capitalize, captions=[PRESET_HELP[p] for p in PRESETS])
    values = prompt_section(ws, next(d for d in datasets if d["name"] == data), task)
    with st.expander("Advanced: every setting"):
        from core.finetune.config import APPROACH_SETTINGS, CLASSIFICATION_APPROACH

        chosen = CLASSIFICATION_APPROACH.get(preset)
        if task == "classification" and chosen and APPROACH_SETTINGS.get((preset, chosen)):
            own = APPROACH_SETTINGS[(preset, chosen)]
            st.caption(f"approach `auto` trains `{chosen}` here; the settings you leave at the "
                       "preset's value take its own: " + ", ".join(
                           f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in own.items()) + ".")
        cols = st.columns(3)
        shown = [n for n in FIELDS if n not in FIXED]
        for i, name in enumerate(shown):
            start = PRESETS[preset].get(name, FIELDS[name].default)
            with cols[i % 3]:
                values[name] = _widget(name, start, f"ft_{preset}_{name}", task)
    values["preset"] = preset
    st.info(explain(values.get("approach", "auto"), preset, task), icon="🎯")
    check, go_btn = st.columns([1, 1])
    if check.button("Check settings and estimate", key="ft_check"):
        _check_or_start(model, data, values, start=False)
    if go_btn.button("Start run", type="primary", key="ft_start"):
        _check_or_start(model, data, values, start=True)


def _check_or_start(model, data, values, start: bool):
    try:
        cfg = build_config(model, data, None, values)
        with st.spinner("Checking settings, tokenizing every row (first use of a packaged "
                        "model converts it once, ~30 s)…"):
            if start:
                started = service.start(ws, cfg)
            else:
                plan = plan_run(ws, cfg)
    except (LadderError, ValueError) as e:
        st.error(f"Not started: {e}")
        return
    if not start:
        st.success("Settings are valid.")
        st.info(plan.estimate.text() + " " + " ".join(plan.estimate.notes))
        return
    st.session_state["ft_run"] = started.run_id
    flash("ft", f"Queued run {started.run_id}. " + started.plan.estimate.text())


def curves_figure(records: list[dict], title: str = "") -> go.Figure:
    tr = pd.DataFrame([r for r in records if r.get("kind") == "train"])
    ev = pd.DataFrame([r for r in records if r.get("kind") == "eval"])
    fig = make_subplots(rows=2, cols=2, subplot_titles=("Loss", "Validation score",
                                                        "Learning rate", "Real tokens/s"))
    if not tr.empty:
        fig.add_scatter(x=tr.step, y=tr.train_loss, name="train loss", row=1, col=1)
        fig.add_scatter(x=tr.step, y=tr.lr, name="learning rate", row=2, col=1)
        if "tokens_per_s" in tr:
            fig.add_scatter(x=tr.step, y=tr.tokens_per_s, name="tokens/s", row=2, col=2)
    if not ev.empty:
        fig.add_scatter(x=ev.step, y=ev.val_loss, name="validation loss", mode="lines+markers",
                        row=1, col=1)
        if ev.get("val_score") is not None and ev.val_score.notna().any():
            fig.add_scatter(x=ev.step, y=ev.val_score, name="validation score",
                            mode="lines+markers", row=1, col=2)
        if ev.get("train_score") is not None and ev.train_score.notna().any():
            fig.add_scatter(x=ev.step, y=ev.train_score, name="train score", mode="lines+markers",
                            row=1, col=2)
        scores = pd.concat([ev.get("val_score", pd.Series(dtype=float)),
                            ev.get("train_score", pd.Series(dtype=float))]).dropna()
        if len(scores) and 0 <= scores.min() and scores.max() <= 1:  # a flat line near 1 autoscaled to 1.5
            fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=520, margin=dict(t=40, b=10), title=title,
                      legend=dict(orientation="h", y=-0.08))
    return fig


def run_panel(run_id: str, live: bool = False):
    jobs.start_pending(ws)
    try:
        rec = service.get_run(ws, run_id)
    except jobs.JobError as e:
        st.error(str(e))
        return
    job = jobs.get(ws, run_id)
    state = rec["status"]
    if live and state in jobs.FINAL_STATES:
        st.rerun()  # the whole page: the runs table changes and polling stops
    st.subheader(f"{run_id}: {state.replace('_', ' ')}")
    if rec.get("phase") and state == "running":
        st.caption(f"Now: {rec['phase']}")
    step, total = rec.get("step") or 0, rec.get("max_steps") or 0
    if total:
        st.progress(min(1.0, step / total), text=f"step {step} of {total}")
    st_ = job.status
    c = st.columns(4)
    c[0].metric("Train loss", f"{st_['train_loss']:.3f}" if st_.get("train_loss") else "—")
    c[1].metric("Validation loss", f"{st_['val_loss']:.3f}" if st_.get("val_loss") else "—")
    c[2].metric("Tokens/s", f"{st_['tokens_per_s']:.0f}" if st_.get("tokens_per_s") else "—")
    eta = st_.get("eta_s")
    c[3].metric("ETA", f"{eta / 60:.1f} min" if eta and state == "running" else "—")
    if rec.get("error"):
        st.error(rec["error"])
    for a in rec.get("alarms") or []:
        st.warning(f"**{a['kind'].replace('_', ' ').capitalize()}** — {a['message']}")
    if rec.get("prompt") or rec.get("traded"):
        st.caption(" ".join([(rec.get("prompt") or {}).get("note") or ""]
                            + [f"Budget: {t}." for t in rec.get("traded") or []]))
    records = jobs.read_metrics(job.run_dir)
    if records:
        st.plotly_chart(curves_figure(records), width="stretch", key=f"ft_fig_{run_id}")
    b1, b2, b3 = st.columns(3)
    if state in ("queued", "running") and b1.button("Cancel run", key=f"ft_cancel_{run_id}"):
        jobs.cancel(ws, run_id, grace_s=10)
        st.rerun()
    if state in ("failed", "cancelled") and b2.button("Resume from last checkpoint",
                                                       key=f"ft_resume_{run_id}"):
        jobs.resume(ws, run_id)
        st.rerun()
    if rec.get("adapter_path") and state in ("succeeded", "stopped_early"):
        from core.finetune.artifacts import adapter_zip

        z = adapter_zip(job.run_dir)
        lora = z.name == "adapter.zip"  # else an encoder's or a head's model folder
        b3.download_button("Download adapter (.zip)" if lora else "Download model (.zip)",
                           z.read_bytes(), file_name=f"{run_id}.zip", key=f"ft_zip_{run_id}")
        if lora and b2.button("Export merged model", key=f"ft_merge_{run_id}",
                              help="Base + adapter in one ordinary model folder "
                                   "(RUN_DIR/merged)."):
            with st.spinner("Merging…"):
                st.success(f"Saved to {service.export_merged(ws, run_id)}")
    from core.finetune.warm import warm_start_text

    if warm_start_text(rec):
        st.caption(warm_start_text(rec))
    if rec.get("before") or rec.get("after"):
        results(rec)
    if rec.get("wall_s"):
        st.plotly_chart(time_figure(rec), width="stretch", key=f"ft_time_{run_id}")
    with st.expander("Log"):
        st.code(jobs.read_log_tail(job.run_dir, 8000) or "(empty)", language=None)
    with st.expander("Settings"):
        st.json(rec["config"], expanded=False)


def time_figure(rec: dict) -> go.Figure:
    """One bar: where the run's wall time went, and what it trained on."""
    parts = [("baseline classifier", rec.get("baseline_s")), ("loading", rec.get("load_s")), ("measuring speed", rec.get("measure_s")),
             ("training", rec.get("train_s")), ("validation", rec.get("validate_s")),
             ("checkpoints", rec.get("save_s")), ("before/after", rec.get("score_s"))]
    fig = go.Figure()
    for label, secs in parts:
        if secs:
            fig.add_bar(y=["time"], x=[secs], name=f"{label} {secs:.0f} s", orientation="h")
    seen = rec.get("examples_seen")
    title = f"Where {rec['wall_s'] / 60:.1f} minutes went"
    if seen:
        title += f" — trained on {seen:,} examples ({rec.get('epochs_seen') or 0:.2f} epochs)"
    fig.update_layout(barmode="stack", height=170, title=title, margin=dict(t=40, b=10),
                      xaxis_title="seconds", yaxis_visible=False,
                      legend=dict(orientation="h", y=-0.6))
    return fig


def _fmt(score, graded: bool) -> str:
    return "—" if score is None else (f"{score:.3f}" if graded else f"{score:.1%}")


def results(rec):
    graded = bool(rec.get("graded"))
    scorer = f" — scorer `{rec['scorer']}`" if rec.get("scorer") else ""
    st.markdown(f"**Before / after on the test split** — model `{rec['model_id']}`{scorer}")
    if rec.get("scorer_why"):
        st.caption(rec["scorer_why"])
    c = st.columns(3)
    b, a = rec.get("before") or {}, rec.get("after") or {}
    delta = (a.get("score") or 0) - (b.get("score") or 0) if a.get("score") is not None else None
    first = ("Before (embedding classifier)" if str(b.get("model_id", "")).endswith("-classifier")
             else "Before (base)")  # a label predictor is measured against the classifier
    for col, label, res, d in ((c[0], first, b, None), (c[1], "After (fine-tuned)", a, delta)):
        col.metric(label, _fmt(res.get("score"), graded),
                   delta=None if d is None else (f"{d:+.3f}" if graded else f"{d:+.1%}"))
        if res.get("score") is not None:
            col.caption(f"95% interval {_fmt(res['ci_low'], graded)} – "
                        f"{_fmt(res['ci_high'], graded)} (n={res['n']})")
    if rec.get("p_value") is not None:
        c[2].metric("Paired test p-value", f"{rec['p_value']:.3g}")
    cmp = rec.get("comparison") or {}
    test = cmp.get("test") or "a paired test"
    st.caption(f"Same test rows, prompt and scorer for both; {cmp.get('verdict') or ''} "
               f"({test} on the rows' paired scores, the Prompt Lab's test).")
    head_to_head(rec.get("head_to_head"), graded)
    samples = rec.get("samples") or []
    if samples:
        st.markdown("**Test rows, before and after**")
        st.dataframe(_rows_frame(samples, graded), hide_index=True, width="stretch")
    ch, fl = rec.get("changed") or {}, rec.get("flipped") or {}
    if graded:
        t1, t2 = st.tabs([f"Improved most ({ch.get('n_improved', 0)} rows improved)",
                          f"Worsened most ({ch.get('n_worsened', 0)} rows worsened)"])
        t1.dataframe(_rows_frame(ch.get("improved") or [], graded), hide_index=True)
        t2.dataframe(_rows_frame(ch.get("worsened") or [], graded), hide_index=True)
        return
    t1, t2 = st.tabs([f"Fail → pass ({fl.get('n_fail_to_pass', 0)})",
                      f"Pass → fail ({fl.get('n_pass_to_fail', 0)})"])
    t1.dataframe(_rows_frame(fl.get("fail_to_pass") or [], graded), hide_index=True)
    t2.dataframe(_rows_frame(fl.get("pass_to_fail") or [], graded), hide_index=True)


def head_to_head(h2h: dict | None, graded: bool):
    """The run beside the cheaper rungs on its test rows: a table and the intervals drawn."""
    if not h2h:
        return
    run, others = h2h["run"], h2h.get("others") or []
    st.markdown(f"**Head-to-head on the same {h2h['rows']} test rows**")
    lines = [{"option": "fine-tuned (this run)", "model": run["model_id"], "rows": run["n"],
              "score": _fmt(run["score"], graded),
              "95% interval": f"{_fmt(run['ci_low'], graded)} – {_fmt(run['ci_high'], graded)}",
              "this run minus it": "", "paired test": ""}]
    for o in others:
        name = o["what"] + (f" '{o['variant']}' (eval #{o['eval_run']})" if o.get("variant")
                            else "")
        diff = (f"{o['diff'] * 100:+.1f} pts [{o['diff_ci_low'] * 100:+.1f}, "
                f"{o['diff_ci_high'] * 100:+.1f}]" if o.get("diff") is not None else "—")
        lines.append({"option": name, "model": o["model_id"], "rows": o["n"],
                      "score": _fmt(o["score"], graded),
                      "95% interval": f"{_fmt(o['ci_low'], graded)} – "
                                      f"{_fmt(o['ci_high'], graded)}",
                      "this run minus it": diff,
                      "paired test": "—" if o.get("p_value") is None else
                      f"p = {o['p_value']:.3g}" + (" (significant)" if o["significant"] else "")})
    st.dataframe(pd.DataFrame(lines), hide_index=True, width="stretch")
    for o in others:
        st.caption(o["verdict"] + (f" On the {o['n']} rows it was scored on." if o["n"] !=
                                   h2h["rows"] else ""))
    for m in h2h.get("missing") or []:
        st.info(m)
    if others:
        names = [x["option"] for x in lines]
        pts = [run] + others
        fig = go.Figure(go.Bar(
            x=[p["score"] for p in pts], y=names, orientation="h",
            error_x=dict(type="data", symmetric=False,
                         array=[p["ci_high"] - p["score"] for p in pts],
                         arrayminus=[p["score"] - p["ci_low"] for p in pts])))
        fig.update_layout(height=60 + 40 * len(pts), margin=dict(t=10, b=10),
                          xaxis_title="score (95% interval)", yaxis_autorange="reversed",
                          xaxis_tickformat=".0%" if not graded else None)
        st.plotly_chart(fig, width="stretch", key=f"ft_h2h_{run['model_id']}")


def _rows_frame(recs: list[dict], graded: bool) -> pd.DataFrame:
    cols = {"input": "input", "target": "reference", "before": "base output",
            "after": "fine-tuned output", "before_score": "base score",
            "after_score": "fine-tuned score"}
    frame = pd.DataFrame(recs)
    if frame.empty:
        return frame
    frame = frame[[k for k in cols if k in frame]].rename(columns=cols)
    if not graded:
        frame = frame.drop(columns=["base score", "fine-tuned score"], errors="ignore")
    return frame


def runs_tab(runs):
    if not runs:
        st.info("No runs yet: start one in the New run tab.")
        return
    table = pd.DataFrame([{
        "run": r["run_id"], "status": r["status"], "trains": r["trained_model"],
        "data": r["dataset"], "step": f"{r['step'] or 0}/{r['max_steps'] or '?'}",
        "before": _score(r.get("before")), "after": _score(r.get("after")),
    } for r in runs])
    st.dataframe(table, hide_index=True, width="stretch")
    ids = [r["run_id"] for r in runs]
    chosen = st.session_state.get("ft_run")
    run_id = st.selectbox("Run", ids, index=ids.index(chosen) if chosen in ids else 0,
                          key="ft_pick")
    live = next(r for r in runs if r["run_id"] == run_id)["status"] in ("queued", "running")
    st.fragment(run_every=3 if live else None)(run_panel)(run_id, live)


def compare_tab(runs):
    ids = [r["run_id"] for r in runs]
    pick = st.multiselect("Runs to overlay", ids, default=ids[:3], key="ft_compare")
    if not pick:
        return
    fig = go.Figure()
    rows = []
    for r in (x for x in runs if x["run_id"] in pick):
        recs = jobs.read_metrics(r["run_dir"])
        ev = [m for m in recs if m.get("kind") == "eval"]
        tr = [m for m in recs if m.get("kind") == "train"]
        fig.add_scatter(x=[m["step"] for m in ev], y=[m["val_loss"] for m in ev],
                        name=f"{r['run_id']} val", mode="lines+markers")
        fig.add_scatter(x=[m["step"] for m in tr], y=[m["train_loss"] for m in tr],
                        name=f"{r['run_id']} train", line=dict(dash="dot"))
        cfg = r["config"]
        rows.append({"run": r["run_id"], "status": r["status"], **{
            k: cfg.get(k) for k in ("base_model", "dataset", "method", "lora_r", "target_modules",
                                    "lr", "epochs", "max_steps", "batch_size", "optimizer")},
            "before": _score(r.get("before")), "after": _score(r.get("after"))})
    fig.update_layout(height=420, xaxis_title="step", yaxis_title="loss",
                      margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch", key="ft_compare_fig")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


# keyed: the tab a user chose survives the reruns a live run triggers (it ending, polling)
tab_new, tab_runs, tab_cmp = st.tabs(["New run", "Runs", "Compare runs"], key="ft_view",
                                     on_change="rerun")
runs = service.list_runs(ws)
with tab_new:
    new_run_tab()
with tab_runs:
    runs_tab(runs)
with tab_cmp:
    if runs:
        compare_tab(runs)
    else:
        st.info("Runs you start appear here, with their curves overlaid.")
