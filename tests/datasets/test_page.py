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
