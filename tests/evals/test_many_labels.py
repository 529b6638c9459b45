"""Intent routing with 100 labels end to end: a prompt listing every label, the confusion view's
tables and the report's per-label precision/recall and most confused pairs."""

from __future__ import annotations

import pandas as pd
import pytest

from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.evals.summary import confused_pairs, confusion, label_metrics, leaderboard
from core.models.registry import build_spec
from core.prompts.variants import Variant
from core.report.export import markdown
from core.report.summary import ladder_summary
from tests.fake_openai import FakeOpenAIServer

LABELS = [f"intent_{i:03d}" for i in range(100)]


@pytest.fixture
def intents(ws, tmp_path):
    from core.datasets import service

    rows = [{"text": f"message {j} about topic {i}", "intent": LABELS[i]}
            for i in range(100) for j in range(4)]
    path = tmp_path / "intents.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    res = service.import_file(ws, path, name="intents", input_col="text", target_col="intent")
    assert res.version.mapping.task == "classification"  # 100 labels, no --task
    service.split(ws, "intents", val=0.0, test=0.25, seed=0)
    return "intents"


def test_a_prompt_that_lists_100_labels_runs_and_the_mistakes_are_listed(ws, intents):
    seen: list[str] = []

    def answer(body):  # right, except topic 7 is taken for topic 8
        prompt = body["messages"][-1]["content"]
        seen.append(prompt)
        topic = int(prompt.split("about topic ")[1].split()[0])
        return LABELS[8] if topic == 7 else LABELS[topic]

    with FakeOpenAIServer(answer=answer) as srv:
        ws.registry.add(build_spec(id="api", kind="openai", source="fake-model",
                                   base_url=srv.url, price_in_per_m=0, price_out_per_m=0))
        variants = [Variant(name="all labels", template="Message: {input}\nChoose one of: "
                            "{labels}\nIntent:"),
                    Variant(name="plain", template="Message: {input}\nIntent:")]
        run_id = run_eval(ws, EvalConfig(dataset=intents, models=["api"], variants=variants))
    assert seen and all(all(lab in p for lab in LABELS) for p in seen if "Choose" in p)
    board = {e["name"]: e for e in leaderboard(ws, run_id)}
    assert board["all labels"]["invalid_rate"] == 0.0 and board["all labels"]["n"] == 100
    from core.evals.rows import load_rows

    data = load_rows(ws, intents, "test")
    cm = confusion(ws, run_id, "all labels", "api", {r["row_id"]: r["target"] for r in data.rows})
    n7 = int(cm.loc[LABELS[7]].sum()) if LABELS[7] in cm.index else 0
    pairs = confused_pairs(cm)
    per = label_metrics(cm)
    assert n7 >= 1  # a stratified test split holds every label; topic 7's rows answered as 8
    assert pairs.iloc[0].tolist() == [LABELS[7], LABELS[8], n7]
    assert per.iloc[0]["label"] == LABELS[7] and per.iloc[0]["recall"] == 0.0
    assert per["recall"].iloc[-1] == 1.0
    text = markdown(ladder_summary(ws, intents))
    assert "100 labels; the weakest ten" in text and "| label | precision | recall |" in text
    assert f"| {LABELS[7]} | {LABELS[8]} | {n7} |" in text
