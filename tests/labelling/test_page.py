"""The Data page's "Label with a model" tab: start a teacher labelling, see it finish."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.datasets import service
from core.datasets import versions as store
from core.jobs import runner
from core.labelling.teacher import PROVENANCE
from core.labelling.worker import latest_job
from tests.conftest import wait_for

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "data.py")


def test_label_tab_runs_a_teacher_in_the_background(ws, hidden, teacher):
    parent = service.import_file(ws, hidden[0], name="tickets", input_col="text",
                                 target_col="category", task="classification").version
    todo = len(service.unlabelled_rows(ws, parent))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any(f"{todo:,} of {parent.rows:,} rows have no label yet" in m.value
               for m in at.markdown)
    assert at.number_input(key="lab_gold").value == 40
    at.selectbox(key="lab_model").set_value("teacher")
    at.number_input(key="lab_limit").set_value(60)
    at.button(key="lab_go").click().run()
    assert not at.exception

    def finished():
        runner.refresh(ws)
        j = latest_job(ws, "tickets")
        return j if j is not None and j.final else None

    job = wait_for(finished, timeout=120, every=0.5)
    assert job.state == "succeeded", job.error
    new = store.get_version(ws, "tickets")
    assert new.number == parent.number + 1 and new.given == ("train", "test")
    frame = store.load_frame(ws, new)
    assert (frame[PROVENANCE] == "teacher:teacher").sum() == job.result["label_run"]["labelled"]
    assert job.result["label_run"]["asked"] == 60
    at.run()
    assert not at.exception
    labelled = job.result["label_run"]["labelled"]
    assert any(f"{labelled} rows by teacher" in c.value for c in at.caption)
