"""AppTest: an embedding classifier added on the Models page, then compared with an LLM."""

from __future__ import annotations

import pytest

from core.evals.store import list_runs
from core.prompts import store as pstore
from core.prompts.variants import Variant
from tests.conftest import open_app, wait_for_eval_run
from tests.evals.conftest import tiny_model  # noqa: F401  (fixture)
from tests.models.test_classifier_minilm import topics  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def test_add_on_models_page_then_compare(ws, topics, tiny_model):  # noqa: F811
    at = open_app("views/models.py")
    at.radio(key="add_kind").set_value("Embedding classifier").run()
    at.text_input(key="add_id").input("Bad Name")
    next(b for b in at.button if b.label == "Train and add").click().run()
    assert not at.exception, at.exception
    assert any("Not added" in e.value and "lowercase" in e.value for e in at.error)
    assert not ws.registry.exists("bad name")

    at.text_input(key="add_id").input("topics-clf")
    at.selectbox(key="add_classifier_data").set_value(topics)
    next(b for b in at.button if b.label == "Train and add").click().run()
    assert not at.exception, at.exception
    assert ws.registry.get("topics-clf").kind == "classifier"
    assert any("Added 'topics-clf'" in s.value for s in at.success)

    set_id = pstore.get_or_create_set(ws, f"{topics} prompts", topics)
    pstore.save_variant(ws, set_id, Variant(name="plain", template="{input}"))
    at = open_app("views/compare.py")
    at.multiselect(key="cmp_models").set_value(["tiny", "topics-clf"]).run()
    assert [s.key for s in at.selectbox if s.key.startswith("cmp_v_")] == ["cmp_v_tiny"]
    assert any("embedding classifier, reads each row's input" in c.value for c in at.caption)
    at.button(key="cmp_run").click().run()
    assert not at.exception, at.exception
    [run] = list_runs(ws)
    assert wait_for_eval_run(ws, run["id"]) == "done"
    at.number_input(key="cmp_min").set_value(0.8)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["topics-clf", "kind"] == "classifier"
    assert table.loc["topics-clf", "cost_per_1k_usd"] > 0
    assert table.loc["topics-clf", "latency_p50_ms"] > 0
    assert any("Recommendation: topics-clf" in s.value and
               "The embedding classifier topics-clf meets your requirements" in s.value
               for s in at.success)
