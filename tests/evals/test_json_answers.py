"""JSON targets: an answer ends when its object closes, never at a line break inside it."""

from __future__ import annotations

import json

import pytest

from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.evals.store import cells_frame
from core.models.base import JSON_CLOSE, apply_stop
from core.models.registry import build_spec
from core.prompts.variants import Variant
from tests.evals.conftest import free_text_dataset
from tests.fake_openai import FakeOpenAIServer

PRETTY = '{\n  "name": "%s",\n  "items": [\n    {"qty": %d}\n  ]\n}\n\nInput: the next one {'


def target(i: int) -> str:
    return json.dumps({"name": f"order {i}", "items": [{"qty": i}]})


@pytest.fixture
def orders(ws, tmp_path):
    return free_text_dataset(ws, tmp_path / "orders.csv", "orders", ("text", "json"),
                             [(f"order {i}: {i} pieces", target(i)) for i in range(40)])


def test_pretty_printed_json_answers_are_kept_whole_and_scored_by_field(ws, orders):
    def answer(body):
        i = int(body["messages"][-1]["content"].split("order ")[1].split(":")[0])
        return PRETTY % (f"order {i}", i)

    with FakeOpenAIServer(answer=answer) as srv:
        ws.registry.add(build_spec(id="api", kind="openai", source="fake-model",
                                   base_url=srv.url, price_in_per_m=0, price_out_per_m=0))
        run_id = run_eval(ws, EvalConfig(dataset=orders, models=["api"],
                                         variants=[Variant(name="v", template="{input}")]))
        sent_stops = [r.body.get("stop") for r in srv.requests]
    assert all(s is None or "\n" not in s for s in sent_stops)  # no line-break stop sent
    cells = cells_frame(ws, run_id)
    assert len(cells) == 10
    assert cells["error_kind"].isna().all(), cells["output"].tolist()[:2]
    assert (cells["score"] == 1.0).all()
    for out in cells["output"]:
        assert out.startswith("{\n") and out.endswith("}") and "Input:" not in out
        json.loads(out)


def test_a_line_break_inside_an_object_does_not_stop_a_local_answer():
    from core.models.decoding import StopOnStrings
    from tests.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    ids = tok(["a b c"], return_tensors="pt")["input_ids"]
    crit = StopOnStrings(tok, (JSON_CLOSE,), prompt_width=ids.shape[1])
    # the tiny vocabulary has no braces: decode is stubbed with the texts of three steps
    for text, done in (("{", False), ('{\n "a": [1, {"b": "}"}', False),
                       ('{\n "a": [1, {"b": "}"}]\n}', True)):
        crit.tok = type("T", (), {"batch_decode": staticmethod(lambda *_a, _t=text, **_k: [_t])})
        assert bool(crit(ids, None)[0]) is done
    assert apply_stop('{\n "a": 1\n}\nmore', (JSON_CLOSE,)) == ('{\n "a": 1\n}', True)
    assert apply_stop('{\n "a": 1', (JSON_CLOSE,)) == ('{\n "a": 1', False)
