"""AppTest of the Fine-tuning page: validation message, one-click start, live run panel, results."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from core import jobs
from tests.conftest import open_app


def page() -> AppTest:
    return open_app("views/finetune.py", timeout=60)


def test_page_without_models_or_data_explains_what_is_needed(ws):
    at = page()
    assert any("needs a local base model" in i.value for i in at.info)


def test_page_validates_then_starts_and_shows_the_run(tiny_ws):
    at = page()
    at.selectbox(key="ft_model").set_value("tiny")
    at.selectbox(key="ft_data").set_value("toy")
    at.run()
    at.number_input(key="ft_quick_lr").set_value(0.0)
    at.button(key="ft_check").click()
    at.run()
    assert any("lr must be positive" in e.value for e in at.error)
    for name, value in (("lr", 5e-3), ("max_steps", 8), ("batch_size", 4), ("eval_every", 4),
                        ("eval_rows", 4), ("max_seq_len", 64)):
        at.number_input(key=f"ft_quick_{name}").set_value(value)
    at.selectbox(key="ft_quick_precision").set_value("fp32")
    at.selectbox(key="ft_quick_approach").set_value("generate")  # the tiny model's LoRA
    at.button(key="ft_check").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Estimate (" in i.value for i in at.info)
    at.button(key="ft_start").click()
    at.run()
    assert not at.exception, at.exception
    [job] = jobs.list_jobs(tiny_ws, "finetune")
    assert any(f"Queued run {job.id}" in s.value for s in at.success)
    done = jobs.wait(tiny_ws, job.id, timeout_s=120)
    assert done.state == "succeeded", jobs.read_log_tail(done.run_dir)
    at.run()
    assert not at.exception, at.exception
    assert any(job.id in s.value and "succeeded" in s.value for s in at.subheader)
    labels = [m.label for m in at.metric]
    assert "Before (base)" in labels and "After (fine-tuned)" in labels
    assert at.get("plotly_chart")
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    curves = next(f for f in specs if "Validation score" in
                  [a.get("text") for a in f["layout"].get("annotations", [])])
    assert curves["layout"]["yaxis2"]["range"] == [0, 1.02]  # a score's own scale, not autoscaled
