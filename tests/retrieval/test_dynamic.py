"""Dynamic prompt parts: context within a token budget, similar train examples (leakage guard),
retrieval metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import retrieval as R
from core.retrieval.search import Hit

TOPICS = {"billing": "I was charged twice for my {} subscription, please refund",
          "bug": "The {} app crashes when I open a note with images",
          "account": "I cannot reset my password on the {} app, the link expired"}
DEVICES = ["iPhone", "Android", "Windows", "Mac", "Linux", "iPad", "web", "Chromebook"]


def tiny_dataset(ws):
    """24 tickets, 3 labels, split into train/validation/test by the real splitter."""
    from core import datasets

    rows = [{"text": t.format(d), "label": lab} for lab, t in TOPICS.items() for d in DEVICES]
    path = ws.settings.root / "tickets.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    datasets.import_file(ws, path, name="tickets", input_col="text", target_col="label",
                         task="classification")
    v, sp = datasets.split(ws, "tickets", 0.25, 0.25, 0)
    return v, sp, datasets.load_frame(ws, v)


def test_leakage_guard_never_the_row_itself_never_validation_or_test(ws):
    v, sp, frame = tiny_dataset(ws)
    index = R.example_index(ws, v)
    train = set(sp.indices("train").tolist())
    assert set(index.row_ids.tolist()) == train  # only train rows are in the index
    every = R.similar_examples_batch(frame["text"].tolist(), index, 5, list(range(len(frame))))
    single = R.similar_examples(frame["text"][0], index, 5, exclude_row_id=0)
    assert [e["row_id"] for e in every[0]] == [e["row_id"] for e in single]
    for row_id, got in enumerate(every):
        ids = [e["row_id"] for e in got]
        assert len(got) == 5 and row_id not in ids and set(ids) <= train
        assert [e["score"] for e in got] == sorted((e["score"] for e in got), reverse=True)
        assert {"input", "target", "score"} <= set(got[0])
    # the same text as a train row is never offered as its own example, even without an id
    t = int(sp.indices("train")[0])
    assert t not in [e["row_id"] for e in R.similar_examples(frame["text"][t], index, 5)]
    # a vector query with exclude_row_id, and the list-of-dicts form used by the eval engine
    vec = index.vecs[list(index.row_ids).index(t)]
    assert t not in [e["row_id"] for e in R.similar_examples(vec, index, 3, exclude_row_id=t)]
    dicts = [{"row_id": int(i), "input": frame["text"][i], "target": frame["label"][i]}
             for i in sorted(train)]
    batch = R.similar_examples_batch([frame["text"][t]], dicts, 2, [t])
    assert len(batch[0]) == 2 and t not in [e["row_id"] for e in batch[0]]


def test_examples_are_the_similar_ones_and_cached_on_disk(ws):
    v, sp, frame = tiny_dataset(ws)
    index = R.example_index(ws, v)
    got = R.similar_examples("charged twice for my subscription, refund please", index, 3)
    assert [e["target"] for e in got] == ["billing"] * 3
    cached = list((ws.settings.root / "cache" / "example-vectors").glob("*.npy"))
    assert len(cached) == 1 and np.load(cached[0]).shape == (len(index), 384)


def test_context_respects_the_token_budget(kb):
    full = R.context_for("refund to my card", kb, k=4, token_budget=2000)
    assert len(full.chunks) == 4 and not full.dropped and full.tokens <= 2000
    assert full.text.startswith("[billing.md › Billing > Refunds]")
    small = R.context_for("refund to my card", kb, k=4, token_budget=40)
    assert small.tokens <= 40 and small.dropped
    assert all("dropped" in h.why for h in small.dropped)
    with pytest.raises(R.RetrievalError, match="token budget"):
        R.context_for("refund", kb, token_budget=0)


def _hit(source: str, text: str) -> Hit:
    return Hit("id", text, source, 1.0, 1.0, 1, 0, 0, "", "", "vector", "")


def test_hit_rate_and_mrr():
    results = [[_hit("a.md", "x"), _hit("billing.md", "refunds")],
               [_hit("sync.txt", "Sync stops when offline.")],
               [_hit("a.md", "nothing")]]
    refs = ["billing", "sync stops when OFFLINE", "login.md"]
    assert R.hit_rate_at_k(results, refs, 1) == pytest.approx(1 / 3)
    assert R.hit_rate_at_k(results, refs, 2) == pytest.approx(2 / 3)
    assert R.mrr(results, refs) == pytest.approx((0.5 + 1 + 0) / 3)
    assert R.mrr(results, ["", "", ""]) != R.mrr(results, ["", "", ""])  # nan: no references
