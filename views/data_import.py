"""The Data page's import form: upload a file, map its columns, say how its splits are given.
The splits can be cut later from the file (the Split tab), come from the dataset's own test
(and validation) files, or from a column that names each row's split; given splits are kept
exactly as they came.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from core import datasets
from core.datasets import DatasetError
from core.errors import LadderError
from views.common import flash

TYPES = ["csv", "tsv", "txt", "jsonl", "ndjson", "json", "xlsx"]
EXCEL = (".xlsx", ".xlsm")
INPUT_GUESS = ("text", "input", "prompt", "question", "message", "review", "body")
TARGET_GUESS = ("label", "category", "target", "answer", "output", "class", "score", "rating")
SPLIT_GUESS = ("split", "set", "fold", "partition", "subset")
CUT, FILES, COLUMN = ("Cut them from this file later (Split tab)",
                      "Separate test (and validation) files",
                      "A column names each row's split")


NO_LABELS = "(no labels yet: a model will label them)"


def guess(columns: list[str], names: tuple[str, ...], fallback: int) -> int:
    for i, c in enumerate(columns):
        if c.lower() in names:
            return i
    return min(fallback, len(columns) - 1) if fallback >= 0 else len(columns) - 1


ENCODINGS = {"detect": None, "UTF-8": "utf-8", "Windows-1252": "windows-1252",
             "Latin-1": "latin-1", "UTF-16": "utf-16"}


def parsed(ws, upload, slot: str, where=st):
    """The upload parsed once per file, sheet and encoding (a Table), or the one-line reason
    it cannot be read. A workbook with data on several sheets gets a sheet picker (none is
    read silently); a text file an encoding picker (detected unless chosen)."""
    if upload is None:
        return None
    file_key = f"{upload.name}:{upload.size}:{getattr(upload, 'file_id', '')}"
    sheet = encoding = None
    if upload.name.lower().endswith(EXCEL):
        if st.session_state.get(f"{slot}_sheets_key") != file_key:
            st.session_state[f"{slot}_sheets_key"] = file_key
            try:
                st.session_state[f"{slot}_sheets"] = datasets.sheet_names(upload.getvalue(),
                                                                          upload.name)
            except LadderError:
                st.session_state[f"{slot}_sheets"] = []  # read_table says why below
        sheets = st.session_state[f"{slot}_sheets"]
        if len(sheets) > 1:
            sheet = where.selectbox("Sheet", sheets, key=f"{slot}_sheet",
                                 help="The workbook has data on several sheets; each import "
                                      "reads one.")
    else:
        encoding = ENCODINGS[where.selectbox(
            "Encoding", list(ENCODINGS), key=f"{slot}_encoding",
            help="Detected from the bytes unless chosen. A file that mixes UTF-8 with bytes "
                 "that are not UTF-8 is refused until you choose one.")]
    key = f"{file_key}:{sheet}:{encoding}"
    if st.session_state.get(f"{slot}_key") != key:
        st.session_state[f"{slot}_key"] = key
        try:
            st.session_state[slot] = datasets.read(ws, upload.getvalue(), upload.name,
                                                   sheet=sheet, encoding=encoding)
        except LadderError as e:
            st.session_state[slot] = str(e)
    return st.session_state[slot]


def import_section(ws, expanded: bool) -> None:
    with st.expander("Import a file", expanded=expanded):
        upload = st.file_uploader("CSV, TSV, JSONL or Excel", key="data_upload", type=TYPES,
                                  max_upload_size=ws.settings.max_upload_mb)
        table = parsed(ws, upload, "data_table")
        if isinstance(table, str):
            st.error(table)
        elif table is not None:
            _mapping_form(ws, table, upload.name)
        if st.button("Load the sample data (support tickets)", key="data_sample"):
            try:
                res = datasets.load_sample(ws)
                v = res.version
                flash("data", f"Sample data ready: '{v.dataset}' version {v.number}.")
            except LadderError as e:
                st.error(str(e))


def _mapping_form(ws, table, upload_name: str) -> None:
    cols = table.columns
    how = ", ".join(x for x in (table.fmt, table.encoding,
                                f"delimiter {table.delimiter!r}" if table.delimiter else "") if x)
    st.caption(f"{len(table.frame):,} rows, {len(cols)} columns (read as {how}). First rows:")
    st.dataframe(table.frame.head(20), hide_index=True)
    c1, c2, c3 = st.columns(3)
    in_col = c1.selectbox("Input column", cols, index=guess(cols, INPUT_GUESS, 0), key="map_input")
    tg_col = c2.selectbox("Target column", cols + [NO_LABELS],
                          index=guess(cols, TARGET_GUESS, -1), key="map_target",
                          help="Rows may have no label yet: a model can label them on the "
                               "'Label with a model' tab after the import.")
    ctx = c3.selectbox("Context column (optional)", ["(none)"] + cols, key="map_ctx")
    unlabelled = tg_col == NO_LABELS
    if unlabelled:
        tg_col = c2.text_input("Name of the label column to create", "label", key="map_new_target")
    shape = datasets.guess_task(table.frame[tg_col] if tg_col in table.frame.columns
                                else pd.Series([], dtype=str))
    c1, c2 = st.columns(2)
    task = c1.selectbox("Task type", datasets.TASKS, index=datasets.TASKS.index(shape.task),
                        key=f"map_task_{tg_col}", help=f"Inferred from '{tg_col}': {shape.task}.")
    c1.caption(datasets.explain_task(shape, task)
               + ("" if task != shape.task else " Change it here, or later on the Versions tab."))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(upload_name).stem).strip("-.") or "data"
    name = c2.text_input("Dataset name", stem[:64], key="map_name")
    splits = st.radio("Train, validation and test splits", [CUT, FILES, COLUMN], key="map_splits",
                      horizontal=True,
                      help="Given splits are kept exactly; the missing validation (or test) "
                           "part is cut from the train rows: 10% at first, re-cut on the "
                           "Split tab.")
    test = validation = split_col = None
    if splits == FILES:
        c1, c2 = st.columns(2)
        test = parsed(ws, c1.file_uploader("Test file (the same columns)", key="data_test_upload",
                                           type=TYPES, max_upload_size=ws.settings.max_upload_mb),
                      "data_test_table", c1)
        validation = parsed(ws, c2.file_uploader("Validation file (optional)",
                                                 key="data_val_upload", type=TYPES,
                                                 max_upload_size=ws.settings.max_upload_mb),
                            "data_val_table", c2)
        for t in (test, validation):
            if isinstance(t, str):
                st.error(t)
    elif splits == COLUMN:
        split_col = st.selectbox("Split column (train / validation, dev, val, valid / test)",
                                 cols, index=guess(cols, SPLIT_GUESS, -1), key="map_split_col")
    if st.button("Import", type="primary", key="do_import"):
        try:
            if splits == FILES and test is None and validation is None:
                raise DatasetError("add the dataset's test file (and, if it has one, its "
                                   "validation file), or choose another way to split.")
            if isinstance(test, str) or isinstance(validation, str):
                raise DatasetError("fix the unreadable file above first.")
            if unlabelled:  # the label column is added to a copy, not to the parsed upload
                table = dataclasses.replace(table, frame=table.frame.copy())
            mapping = datasets.make_mapping(table.frame, in_col, tg_col,
                                            None if ctx == "(none)" else ctx, task,
                                            table.filename, unlabelled)
            res = datasets.import_table(ws, table, name, mapping, test=test,
                                        validation=validation, split_col=split_col,
                                        unlabelled=unlabelled)
            v = res.version
            given = [s for s in v.given if s != "train"]
            flash("data", (f"Imported '{v.dataset}' version {v.number}: {v.rows:,} rows"
                           + (f" ({' and '.join(given)} split as given)" if given else "") + "."
                           if res.created else
                           f"No change: '{v.dataset}' already holds this content as version "
                           f"{v.number}."))
        except LadderError as e:
            st.error(str(e))
