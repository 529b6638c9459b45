"""AppTest of the Home and Models pages, driven through the real router (app.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import open_app
from tests.fake_openai import FakeOpenAIServer


def app(page: str | None = None) -> AppTest:
    return open_app(page)


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.info] + [t.value for t in at.title]
    parts += [c.value for c in at.caption] + [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def test_home_lists_rungs_and_models():
    at = app()
    body = texts(at)
    for rung in ("1 · Prompt Lab", "2 · Dynamic prompts", "3 · Model comparison", "4 · Fine-tuning"):
        assert rung in body
    frame = at.dataframe[0].value
    assert {"smollm2-135m-instruct", "gemma3-270m"} <= set(frame["model"])


@pytest.mark.parametrize("page,title", [
    ("views/data.py", "Data"), ("views/prompt_lab.py", "1 · Prompt Lab"),
    ("views/dynamic.py", "Dynamic prompts"), ("views/compare.py", "3 · Model comparison"),
    ("views/finetune.py", "Fine-tuning")])
def test_every_page_opens_on_an_empty_workspace(page, title):
    at = app(page)
    assert any(title in t.value for t in at.title)
    assert not any("Not built yet" in i.value for i in at.info)


def _add_form(at, **values):
    at.text_input(key="add_id").input(values.pop("name"))
    for label, v in values.items():
        widget = next(w for w in list(at.text_input) + list(at.number_input) if w.label == label)
        widget.set_value(v)
    next(b for b in at.get("form_submit_button") if b.label == "Add model").click()
    at.run()
    return at


def test_models_page_adds_an_endpoint_and_tests_it(monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-page-secret")
    with FakeOpenAIServer(require_key="sk-page-secret") as srv:
        at = app("views/models.py")
        _add_form(at, **{
            "name": "fake-gpt", "Base URL": srv.url, "Model name at the endpoint": "fake-model",
            "Environment variable that holds the API key": "FAKE_KEY",
            "USD per 1M input tokens": 0.5, "USD per 1M output tokens": 1.5,
        })
        assert not at.exception, at.exception
        assert any("Added 'fake-gpt'" in s.value for s in at.success)
        assert "fake-gpt" in set(at.dataframe[0].value["model"])

        at.selectbox(key="test_model").set_value("fake-gpt")
        at.text_area(key="test_prompt").input("ping")
        at.button(key="test_send").click()
        at.run()
    assert not at.exception, at.exception
    assert any("echo: ping" in c.value for c in at.code)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Input tokens"] != "0" and metrics["Cost"].startswith("$")


def test_models_page_rejects_bad_input_and_keeps_registry():
    at = app("views/models.py")
    before = set(at.dataframe[0].value["model"])
    _add_form(at, **{"name": "broken", "Base URL": "localhost:8000",
                     "Model name at the endpoint": "m",
                     "USD per 1M input tokens": 1.0, "USD per 1M output tokens": 1.0})
    assert not at.exception
    assert any("Not added" in e.value and "http" in e.value for e in at.error)
    assert set(at.dataframe[0].value["model"]) == before


def test_home_shows_the_ladder_of_the_dataset_picked(ws, tmp_path):
    from core import datasets

    datasets.load_sample(ws)
    newer = tmp_path / "newer.csv"
    newer.write_text("text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(12)))
    datasets.import_file(ws, newer, name="newer", input_col="text", target_col="label")
    at = app()
    picker = at.selectbox(key="home_dataset")
    assert picker.options == ["newer", "support-tickets"]  # the most recent first
    assert any("Decision report · newer" in s.value for s in at.subheader)
    picker.select("support-tickets").run()
    assert not at.exception
    assert any("Decision report · support-tickets" in s.value for s in at.subheader)
    assert any("**support-tickets** v1: 370 rows" in m.value for m in at.markdown)
