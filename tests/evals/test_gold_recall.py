"""Retrieval on a question set: hit@k and MRR against the gold passage, and the answer score
split by whether the gold passage was retrieved (`ladder kb recall NAME --data DATASET`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli import main
from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.evals.gold import gold_recall
from core.models.registry import build_spec
from core.prompts.variants import Variant
from tests.fake_openai import FakeOpenAIServer
from tests.retrieval.conftest import write_docs

# (question, answer, gold passage's document, a word only that document holds)
QUESTIONS = [("how many days until my refund is paid", "14 days", "billing.md", "Refunds"),
             ("where do I download an invoice pdf", "Settings", "billing.md", "Invoices"),
             ("my account is locked after failed sign-in", "15 minutes", "login.md", "locked"),
             ("what are recovery codes for two-factor", "ten codes", "login.md", "recovery"),
             ("what does error SYNC-503 mean", "server busy", "sync.txt", "SYNC-503"),
             ("how long does shipping to Norway take", "5 days", "shipping.md", "Norway")]


@pytest.fixture
def qa(ws, tmp_path):
    from core import retrieval as R
    from core.datasets import service

    kb = R.create_kb(ws, "help")
    R.add_files(kb, write_docs(tmp_path / "docs"))
    rows = [{"question": f"{q} ({i})", "answer": a, "passage": doc}
            for i in range(4) for q, a, doc, _ in QUESTIONS]
    path = tmp_path / "qa.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    service.import_file(ws, path, name="qa", input_col="question", target_col="answer",
                        context_col="passage", task="free_text")
    service.split(ws, "qa", val=0.0, test=0.5, seed=0)
    return "qa"


def test_hit_rate_mrr_and_the_score_split_by_gold_retrieved(ws, qa):
    def answer(body):  # answers right only when the gold passage is in the prompt
        prompt = body["messages"][-1]["content"]
        q = prompt.rsplit("Input: ", 1)[-1]
        for question, ans, _doc, word in QUESTIONS:
            if question in q:
                return ans if word in prompt.split("Input: ")[0] else "no idea"
        return "no idea"

    with FakeOpenAIServer(answer=answer) as srv:
        ws.registry.add(build_spec(id="api", kind="openai", source="fake-model",
                                   base_url=srv.url, price_in_per_m=0, price_out_per_m=0))
        variant = Variant(name="retrieved context",
                          template="Reference material:\n{context}\n\nInput: {input}")
        run_id = run_eval(ws, EvalConfig(dataset=qa, models=["api"], variants=[variant],
                                         kb="help", kb_k=1))
    rec = gold_recall(ws, "help", qa, "test", k=1, run_id=run_id)
    assert rec["n"] == 12
    missed = [r for r, rank in rec["ranks"].items() if rank is None]
    assert len(missed) >= 2  # shipping.md is not in the knowledge base
    assert rec["hit_rate"] == pytest.approx(1 - len(missed) / 12)
    assert rec["mrr"] == pytest.approx(rec["hit_rate"])  # k = 1: a hit is rank 1
    [split] = rec["by_retrieval"]
    assert split["retrieved_n"] + split["missed_n"] == 12
    assert split["retrieved_score"] > 0.9 and split["missed_score"] < 0.1
    # the CLI: the same record, and one line of advice
    assert main(["kb", "recall", "help", "--data", qa, "-k", "1", "--run", str(run_id),
                 "--json"]) == 0


def test_recall_cli_refuses_what_it_cannot_measure(ws, qa, capsys):
    capsys.readouterr()
    from core.datasets import service

    frame = pd.DataFrame({"q": [f"q {i}" for i in range(20)], "a": [f"a {i}" for i in range(20)]})
    frame.to_csv(ws.settings.root / "plain.csv", index=False)
    service.import_file(ws, ws.settings.root / "plain.csv", name="plain", input_col="q",
                        target_col="a", task="free_text")
    service.split(ws, "plain", val=0.0, test=0.5, seed=0)
    for argv, said in ((["--data", "plain"], "has no context column"),
                       (["--run", "3"], "add --data DATASET"),
                       (["--data", qa, "--run", "999"], "999")):
        code = main(["kb", "recall", "help", *argv])
        err = capsys.readouterr().err
        assert code != 0 and said in err and "Traceback" not in err
    assert main(["kb", "recall", "help", "--data", qa, "-k", "3", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["k"] == 3 and rec["by_retrieval"] == [] and 0 < rec["hit_rate"] < 1
