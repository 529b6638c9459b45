"""AppTest of views/dynamic.py through the router: knowledge bases, search inspector, recall
check, dynamic prompt preview, and the honest placeholder for the evaluation section."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import retrieval as R
from tests.conftest import open_app
from tests.retrieval.test_dynamic import tiny_dataset


def open_page() -> AppTest:
    return open_app("views/dynamic.py", timeout=90)


def test_page_without_knowledge_bases_offers_create_and_sample():
    at = open_page()
    assert any("No knowledge base yet" in i.value for i in at.info)
    assert any(h.value == "Static vs dynamic evaluation" for h in at.header)
    assert any("No dataset yet" in i.value for i in at.info)
    assert any(b.label == "Load the sample knowledge base" for b in at.button)


def test_search_recall_and_preview(ws, kb):
    tiny_dataset(ws)
    at = open_page()
    kbs = at.dataframe[0].value
    assert list(kbs["name"]) == ["help"] and int(kbs["documents"][0]) == 3

    at.text_input(key="search_query").input("account locked after failed attempts")
    at.toggle(key="search_hybrid").set_value(True)
    at.run()
    assert not at.exception, at.exception
    frames = [d.value for d in at.dataframe]
    results = next(f for f in frames if "similarity" in f.columns and "why" in f.columns
                   and "used" not in f.columns)
    assert results["source"].iloc[0] == "login.md" and "BM25" in results["why"].iloc[0]
    assert {"score", "similarity", "where", "chunk"} <= set(results.columns)

    at.button(key="kb_recall").click()
    at.run()
    assert any(m.label == "recall@5" and m.value == "1.000" for m in at.metric)

    # the preview: row 0 with retrieved chunks and similar train examples
    prompt = at.code[0].value
    assert "Reference material:" in prompt and "[" in prompt and "Input:" in prompt
    assert "Similar labelled examples:" in prompt
    assert any("Examples chosen" in s.value for s in at.subheader)
    examples = next(d.value for d in at.dataframe if "row_id" in d.value.columns)
    assert 0 not in set(examples["row_id"])

    assert any(h.value == "Static vs dynamic evaluation" for h in at.header)
    assert any(b.label == "Run static vs dynamic" for b in at.button)
    assert R.list_kbs(ws)[0]["documents"] == 3
