"""The Data page (AppTest): empty state, sample data, split, stored report with charts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import datasets

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "data.py")
REPO = Path(__file__).resolve().parents[2]


def test_empty_workspace_offers_import_and_sample(ws):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("No datasets yet" in i.value for i in at.info)
    at.button(key="data_sample").click().run()
    assert not at.exception
    assert datasets.list_datasets(ws)[0]["name"] == datasets.SAMPLE_NAME
    assert any("Sample data ready" in s.value for s in at.success)


@pytest.mark.slow  # the report loads MiniLM (~5 s)
def test_report_with_charts_and_fix(ws):
    datasets.load_sample(ws)
    datasets.report(ws, datasets.SAMPLE_NAME)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "370" and metrics["Exact duplicates"] == "3"
    assert metrics["Conflicting labels"] == "2"
    charts = [c for c in at.get("plotly_chart")]
    assert len(charts) >= 5  # split, labels, lengths, PII, input lengths
    assert at.button(key="fix_dups").disabled is False
    at.button(key="fix_dups").click().run()
    assert not at.exception
    assert datasets.get_version(ws, datasets.SAMPLE_NAME).number == 2
    assert any("Saved version 2" in s.value for s in at.success)


def test_split_button(ws):
    datasets.load_sample(ws)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.number_input(key="split_val").set_value(0.2)
    at.button(key="do_split").click().run()
    assert not at.exception
    sp = datasets.get_split(ws, datasets.get_version(ws, datasets.SAMPLE_NAME))
    assert sp.val_ratio == 0.2


def test_core_never_imports_streamlit():
    code = ("import sys, core.datasets, core.cli.data, core.embeddings, core.datasets.service; "
            "assert 'streamlit' not in sys.modules, 'streamlit imported'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_home_sample_button(ws):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()  # home is the default
    assert not at.exception
    assert any("No dataset yet" in m.value for m in at.markdown)
    at.button(key="home_sample").click().run()
    assert not at.exception
    assert any("Sample data ready" in s.value for s in at.success)
    assert any("support-tickets" in m.value and "370 rows" in m.value for m in at.markdown)
    assert datasets.get_split(ws, datasets.get_version(ws, datasets.SAMPLE_NAME)) is not None


TRAIN = "text,label\n" + "".join(f"train row {i},{'ab'[i % 2]}\n" for i in range(30))
TEST = "text,label\n" + "".join(f"test row {i},{'ab'[i % 2]}\n" for i in range(7))


def _upload(at, key: str, name: str, body: str):
    at.file_uploader(key=key).set_value((name, body.encode(), "text/csv"))
    return at.run()


def test_import_form_takes_the_datasets_own_test_file(ws):
    from views.data_import import FILES

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    _upload(at, "data_upload", "train.csv", TRAIN)
    at.radio(key="map_splits").set_value(FILES).run()
    at.button(key="do_import").click().run()  # no test file yet: said, nothing saved
    assert any("add the dataset's test file" in e.value for e in at.error)
    assert datasets.list_datasets(ws) == []
    _upload(at, "data_test_upload", "test.csv", "text\nonly one column\n")
    at.button(key="do_import").click().run()
    assert any("lacks the column 'label' of train.csv" in e.value for e in at.error)
    assert datasets.list_datasets(ws) == []
    _upload(at, "data_test_upload", "test.csv", TEST)
    at.button(key="do_import").click().run()
    assert not at.exception
    assert any("Imported 'train' version 1: 37 rows (test split as given)." in s.value
               for s in at.success)
    _, test_part = datasets.rows_for(ws, "train", "test")
    assert list(test_part["text"]) == [f"test row {i}" for i in range(7)]
    assert any("test split came with the import" in i.value for i in at.info)  # Split tab
    assert at.number_input(key="split_test").disabled


def test_import_form_takes_a_split_column(ws):
    from views.data_import import COLUMN

    body = "text,label,fold\n" + "".join(
        f"row {i},{'ab'[i % 2]},{'train' if i < 20 else 'dev' if i < 24 else 'test'}\n"
        for i in range(30))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    _upload(at, "data_upload", "folds.csv", body)
    at.radio(key="map_splits").set_value(COLUMN).run()
    assert at.selectbox(key="map_split_col").value == "fold"  # guessed from the name
    at.button(key="do_import").click().run()
    assert not at.exception
    sp = datasets.get_split(ws, datasets.get_version(ws, "folds"))
    assert sp.sizes() == {"train": 20, "validation": 4, "test": 6}


def test_conflict_fix_on_the_page(ws, write):
    import numpy as np

    from core.datasets import versions as store

    body = "text,label\nsame,a\nsame,b\nsame,a\nother,b\nthird,a\n"
    v = datasets.import_file(ws, write("c.csv", body), name="c", input_col="text",
                             target_col="label").version
    rep = datasets.quality_report(datasets.load_frame(ws, v), v.mapping,
                                  embed_fn=lambda t: np.eye(len(t), dtype=np.float32))
    rep.update(dataset="c", version=1, hash=v.hash)
    store.save_report(ws, v, rep)  # as the Run button would (without loading MiniLM here)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    how = at.radio(key="fix_conflicts_how")
    assert "Resolve 1 conflicting inputs (3 rows)" in how.label
    assert list(how.options) == ["majority label (ties dropped)", "drop them",
                                 "keep the first label"]
    assert "majority keeps 4 of 5 rows." in [c.value for c in at.caption]
    how.set_value("drop").run()
    assert "drop keeps 2 of 5 rows." in [c.value for c in at.caption]
    at.button(key="fix_conflicts").click().run()
    assert not at.exception
    assert any("Saved version 2" in s.value and "by drop" in s.value for s in at.success)
    assert list(datasets.load_frame(ws, datasets.get_version(ws, "c"))["text"]) == ["other",
                                                                                   "third"]


def test_the_import_says_why_and_the_versions_tab_retasks(ws):
    intents = "".join(f"please help with thing {i},intent_{i % 60}\n" for i in range(180))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    _upload(at, "data_upload", "intents.csv", "text,label\n" + intents)
    assert at.selectbox(key="map_task_label").value == "classification"
    assert any(c.value.startswith("classification: 60 distinct targets over 180 rows")
               for c in at.caption)
    at.button(key="do_import").click().run()
    assert datasets.get_version(ws, "intents").mapping.task == "classification"
    at.run()
    assert any("Version 1 is **classification**" in m.value for m in at.markdown)
    key = f"retask_{datasets.get_version(ws, 'intents').hash}"
    at.selectbox(key=key).set_value("free_text").run()
    at.button(key="do_retask").click().run()
    assert not at.exception
    v = datasets.get_version(ws, "intents")
    assert (v.number, v.mapping.task, v.rows) == (2, "free_text", 180)
