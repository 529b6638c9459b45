"""Data: upload and map a file, keep versions, check quality, fix, split and export."""

import pandas as pd  # before plotly: avoids a first-load import race (docs/platform-notes.md)
import plotly.graph_objects as go
import streamlit as st

from core import datasets
from core.datasets.conflicts import effect as conflict_effect
from core.datasets.conflicts import preview_notes as conflict_notes
from core.datasets.conflicts import preview_table as conflict_preview
from core.datasets.service import describe_left
from core.errors import LadderError
from views.common import dataset_choice, flash, show_flash, workspace
from views.data_import import import_section
from views.data_label import label_section

ws = workspace()
SEVERITY = {"error": "🔴 error", "warning": "🟠 warning", "info": "🔵 info", "ok": "🟢 ok"}

st.title("Data")
st.caption("Bring a CSV, JSONL or Excel file, map its columns, and check its quality before "
           "any evaluation or training. Every import and every fix is a new, immutable version.")

show_flash("data")


def bar(x, y, title: str, xlabel: str, ylabel: str = "rows") -> go.Figure:
    fig = go.Figure(go.Bar(x=list(x), y=list(y)))
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title=ylabel, height=320,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def histogram(h: dict, title: str, limit: int | None = None) -> go.Figure:
    edges, counts = h["edges"], h["counts"]
    mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    fig = bar(mids, counts, title, "tokens")
    if limit is not None and edges[-1] >= limit * 0.8:
        fig.add_vline(x=limit, line_dash="dash", line_color="red",
                      annotation_text=f"max {limit}")
    return fig


# ---------------------------------------------------------------- import
items = datasets.list_datasets(ws)
import_section(ws, expanded=not items)

if not items:
    st.info("No datasets yet: import a file above, or load the sample data.")
    st.stop()

# ---------------------------------------------------------------- choose a version
names = [d["name"] for d in items]
c1, c2 = st.columns([2, 1])
name = dataset_choice(c1, "Dataset", names, "ds_name")
versions = datasets.list_versions(ws, name)
numbers = [v.number for v in versions][::-1]
number = c2.selectbox("Version", numbers, key=f"ds_version_{name}_{numbers[0]}",
                      format_func=lambda n: f"v{n}" + (" (latest)" if n == numbers[0] else ""))
version = next(v for v in versions if v.number == number)
m = version.mapping
st.caption(f"v{version.number} · `{version.short}` · {version.rows:,} rows · task **{m.task}** · "
           f"input `{m.input_col}` → target `{m.target_col}`"
           + (f" · context `{m.context_col}`" if m.context_col else "")
           + f" · {version.source}" + (f" · {version.note}" if version.note else ""))

unlabelled = len(datasets.unlabelled_rows(ws, version))
tab_report, tab_split, tab_rows, tab_label, tab_versions = st.tabs(
    ["Quality report", "Split", "Rows and export",
     f"Label with a model ({unlabelled:,} unlabelled)" if unlabelled else "Label with a model",
     "Versions"])
with tab_label:
    label_section(ws, version, unlabelled)

# ---------------------------------------------------------------- split
split = datasets.get_split(ws, version)
with tab_split:
    given = [s for s in version.given if s != "train"]
    if given:
        st.info(f"The {' and '.join(given)} split{'s' if len(given) > 1 else ''} came with the "
                "import and stay exactly as given; a new split only cuts the missing parts "
                "(as fractions of the train rows).")
    c1, c2, c3 = st.columns(3)
    val = c1.number_input("Validation fraction", 0.0, 0.9, 0.1, 0.05, key="split_val",
                          disabled="validation" in given)
    test = c2.number_input("Test fraction", 0.0, 0.9, 0.1, 0.05, key="split_test",
                           disabled="test" in given)
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="split_seed")
    if st.button("Make split", type="primary", key="do_split"):
        try:
            datasets.split(ws, name, float(val), float(test), int(seed), version.number)
            flash("data", f"Split saved with version {version.number}.")
        except LadderError as e:
            st.error(str(e))
    if split is None:
        st.info("No split yet for this version.")
    else:
        ratio = {"validation": split.val_ratio, "test": split.test_ratio}
        st.caption("Saved split: " + ", ".join(
            f"{s} given by the import" if s in given else f"{s} {ratio[s]:g}"
            for s in ("validation", "test"))
            + f", seed {split.seed}" + (", stratified by label" if split.stratified else ""))
        from core.datasets.splits import split_warnings

        for w in split_warnings(split):
            st.warning(w)
        counts = pd.DataFrame(split.counts).fillna(0).astype(int)
        counts.loc["total"] = counts.sum()
        st.dataframe(counts)
        fig = go.Figure([go.Bar(name=s, x=list(split.counts[s]), y=list(split.counts[s].values()))
                         for s in datasets.SPLITS])
        fig.update_layout(barmode="group", title="Rows per label and split", height=320,
                          margin=dict(l=10, r=10, t=40, b=10))
        st.plotly_chart(fig, key="split_chart")

# ---------------------------------------------------------------- quality report
with tab_report:
    c1, c2, c3 = st.columns([1, 1, 1])
    threshold = c1.slider("Near-duplicate cosine threshold", 0.80, 1.0,
                          datasets.DEFAULT_THRESHOLD, 0.01, key="rep_threshold")
    max_tokens = c2.number_input("Maximum sequence length (tokens)", 16, 32768,
                                 datasets.DEFAULT_MAX_TOKENS, 16, key="rep_max_tokens")
    rep = datasets.get_report(ws, version)
    run = c3.button("Run quality report" if rep is None else "Run again", type="primary",
                    key="do_report")
    if run:
        with st.status("Checking the data…", expanded=True) as status:
            try:
                _, rep = datasets.report(ws, name, version.number, threshold=float(threshold),
                                         max_tokens=int(max_tokens), progress=status.write)
                status.update(label=f"Done in {rep['timings']['total_s']:.1f} s",
                              state="complete", expanded=False)
            except LadderError as e:
                status.update(label="Failed", state="error")
                st.error(str(e))
    if rep is None:
        st.info("No report for this version yet: run it (MiniLM embeds every input once; "
                "a few seconds for a few hundred rows).")
    else:
        p = rep["params"]
        st.caption(f"Report on v{rep['version']}: threshold {p['threshold']}, max length "
                   f"{p['max_tokens']} tokens ({rep['lengths']['tokenizer']}), "
                   f"{rep['timings']['total_s']:.1f} s.")
        cols = st.columns(6)
        for col, (label, key) in zip(cols, [
                ("Rows", "rows"), ("Empty inputs", "missing_inputs"),
                ("Empty targets", "missing_targets"), ("Exact duplicates", "exact_duplicates"),
                ("Near-duplicate pairs", "near_duplicates"),
                ("Conflicting labels", "conflicting_labels")], strict=True):
            col.metric(label, f"{rep[key]:,}")
        findings = pd.DataFrame([{"severity": SEVERITY[f["severity"]], "check": f["title"],
                                  "count": "—" if f["count"] is None else str(f["count"]),
                                  "what to do": f["message"]} for f in rep["findings"]])
        st.dataframe(findings, hide_index=True, key="findings")

        fixes = {f["fix"] for f in rep["findings"] if f["fix"]}
        if fixes:
            st.markdown("**One-click fixes** (each saves a new version; this one is kept)")
            with_test = "test" in version.given and st.checkbox(
                "Also fix the given test file", key="fix_include_test",
                help="Off: the test file the import was given keeps every row, so scores stay "
                     "comparable with baselines on that file. On: the fixes drop its rows too.")
            c1, c2, c3 = st.columns(3)
            chosen = None
            if c1.button("Drop exact duplicates", disabled="drop_duplicates" not in fixes,
                         key="fix_dups"):
                chosen = {"drop_duplicates": True}
            if c2.button("Drop empty rows", disabled="drop_empty" not in fixes, key="fix_empty"):
                chosen = {"drop_empty": True}
            if c3.button("Drop train rows that leak", disabled="drop_leakage" not in fixes,
                         key="fix_leak"):
                chosen = {"drop_leakage": True}
            res_c = rep.get("conflict_resolution") or {}
            if "resolve_conflicts" in fixes and res_c.get("inputs"):
                keeps = conflict_effect(res_c, with_test)["keeps"]
                preview = conflict_preview(res_c, with_test)
                st.caption("Conflict fix preview: rows per split and label now (before) and "
                           "kept by each choice." if len(preview) else "Run the report again "
                           "to see the rows each choice keeps per split and label.")
                if len(preview):
                    st.dataframe(preview, hide_index=True,
                                 height=min(35 * (len(preview) + 1) + 3, 640))  # every row
                if notes := conflict_notes(res_c, with_test):
                    st.caption("  \n".join(notes))
                c1, c2 = st.columns([2, 1])
                how = c1.radio(
                    f"Resolve {res_c['inputs']:,} conflicting inputs ({res_c['rows']:,} rows)",
                    list(datasets.CONFLICT_CHOICES), horizontal=True, key="fix_conflicts_how",
                    format_func={"majority": "majority label (ties dropped)", "drop": "drop them",
                                 "first": "keep the first label"}.get)
                c1.caption(f"{how} keeps {keeps[how]:,} of {rep['rows']:,} rows.")
                if c2.button("Resolve conflicting labels", key="fix_conflicts"):
                    chosen = {"resolve_conflicts": how}
            if chosen:
                try:
                    with st.spinner("Fixing…"):
                        res = datasets.fix(ws, name, number=version.number,
                                           threshold=p["threshold"],
                                           include_test=bool(with_test), **chosen)
                    if res.created:
                        st.session_state.pop(f"ds_version_{name}_{numbers[0]}", None)  # show the latest
                        flash("data", f"Saved version {res.version.number} ({res.version.note}).")
                    st.info("Nothing to drop" + (
                        f" outside the given test file (left as given: {describe_left(left)})."
                        if (left := res.left_in_test) else "."))
                except LadderError as e:
                    st.error(str(e))

        c1, c2 = st.columns(2)
        if rep["label_counts"]:
            c1.plotly_chart(bar(rep["label_counts"], rep["label_counts"].values(),
                                f"Labels (imbalance {rep['imbalance_ratio']}x)", m.target_col),
                            key="labels_chart")
        ln = rep["lengths"]
        c2.plotly_chart(histogram(ln["total"]["histogram"], "Tokens per row (input + context + "
                                  "target)" + (", estimated" if ln["estimate"] else ""),
                                  ln["max_tokens"]), key="length_chart")
        c1, c2 = st.columns(2)
        c1.plotly_chart(bar(rep["pii"], rep["pii"].values(), "Rows with personal data", "kind"),
                        key="pii_chart")
        fig = go.Figure([go.Bar(x=[(a + b) / 2 for a, b in zip(h["edges"][:-1], h["edges"][1:],
                                                             strict=True)],
                                y=h["counts"], name=part, opacity=0.7)
                         for part, h in (("input", ln["input"]["histogram"]),
                                         ("target", ln["target"]["histogram"]))])
        fig.update_layout(barmode="overlay", title="Input and target tokens", height=320,
                          xaxis_title="tokens", yaxis_title="rows",
                          margin=dict(l=10, r=10, t=40, b=10))
        c2.plotly_chart(fig, key="input_chart")

        ex = rep["examples"]
        with st.expander(f"Near-duplicate pairs ({rep['near_duplicates']:,})"):
            st.dataframe(pd.DataFrame([{"rows": f"{e['rows'][0]} & {e['rows'][1]}",
                                        "cosine": e["similarity"], "first": e["inputs"][0],
                                        "second": e["inputs"][1]}
                                       for e in ex["near_duplicates"]]), hide_index=True)
        with st.expander(f"Conflicting labels ({rep['conflicting_labels']:,})"):
            st.dataframe(pd.DataFrame([{"rows": ", ".join(map(str, e["rows"])),
                                        "targets": " / ".join(map(str, e["targets"])),
                                        "input": e.get("input") or " | ".join(e["inputs"]),
                                        "kind": e["kind"]} for e in ex["conflicting_labels"]]),
                         hide_index=True)
        with st.expander(f"Personal data ({sum(rep['pii'].values())} rows)"):
            st.dataframe(pd.DataFrame([{"kind": k, **e} for k, v in ex["pii"].items()
                                       for e in v]), hide_index=True)
        with st.expander("Exact duplicates, empty cells, text problems, long rows"):
            st.write({"exact duplicates": ex["exact_duplicates"],
                      "empty inputs (rows)": ex["missing_inputs"],
                      "empty targets (rows)": ex["missing_targets"],
                      "mojibake": ex["mojibake"], "control characters": ex["control_chars"],
                      "longer than the limit": ex["length_outliers"]})
        if rep["split"] is not None:
            with st.expander(f"Leakage between splits ({sum(rep['leakage'].values())} rows)"):
                st.dataframe(pd.DataFrame(ex["leakage"]), hide_index=True)

# ---------------------------------------------------------------- rows and export
with tab_rows:
    choices = ["all rows"] + (list(datasets.SPLITS) if split is not None else [])
    c1, c2 = st.columns(2)
    which = c1.selectbox("Rows", choices, key="exp_split")
    fmt = c2.radio("Format", ["csv", "jsonl"], horizontal=True, key="exp_fmt")
    part = None if which == "all rows" else which
    try:
        _, rows = datasets.rows_for(ws, name, part, version.number)
        st.dataframe(rows.head(200), hide_index=True)
        st.caption(f"{len(rows):,} rows (showing up to 200).")
        data = datasets.export_bytes(rows, fmt)
        st.download_button(f"Download {fmt.upper()}", data, key="exp_download",
                           file_name=f"{name}-v{version.number}"
                                     f"{'-' + part if part else ''}.{fmt}",
                           mime="text/csv" if fmt == "csv" else "application/jsonl")
        if fmt == "csv":
            st.caption("Cells starting with = + - @ get a leading ' so spreadsheets do not run "
                       "them as formulas.")
    except LadderError as e:
        st.error(str(e))

# ---------------------------------------------------------------- versions
with tab_versions:
    st.dataframe(pd.DataFrame([{"version": v.number, "hash": v.short, "rows": v.rows,
                                "task": v.mapping.task, "source": v.source, "note": v.note,
                                "created": pd.Timestamp(v.created_at, unit="s").floor("s")}
                               for v in versions]), hide_index=True)
    guess = datasets.guess_task(datasets.load_frame(ws, version)[m.target_col])
    st.markdown(f"**Task type.** Version {version.number} is **{m.task}**. "
                + datasets.explain_task(guess, m.task).replace(" chosen by you", " chosen at import"))
    c1, c2 = st.columns([2, 1])
    others = [t for t in datasets.TASKS if t != m.task]
    new_task = c1.selectbox("Change the task type to", others, key=f"retask_{version.hash}",
                            index=others.index(guess.task) if guess.task in others else 0)
    if c2.button("Save as a new version", key="do_retask"):
        try:
            res = datasets.retask(ws, name, new_task, version.number)
            flash("data", f"'{name}' version {res.version.number}: task {new_task}, the same "
                          "rows and split" + ("." if res.created else " (already held)."))
        except LadderError as e:
            st.error(str(e))
    sure = st.checkbox(f"Yes, delete version {version.number} of '{name}'", key="del_sure")
    if st.button("Delete this version", disabled=not sure, key="do_delete"):
        datasets.delete(ws, name, version.number)
        st.session_state.pop(f"ds_version_{name}_{numbers[0]}", None)
        flash("data", f"Deleted '{name}' version {version.number}.")
