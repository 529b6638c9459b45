"""An embedding classifier trained for real (MiniLM + scikit-learn) and used like any model:
`ladder models add --classifier`, `ladder models test`, `ladder eval`, `ladder compare`,
the decision and the report."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.datasets import service
from core.evals.store import cells_frame
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_model  # noqa: F401  (fixture)
from tests.models.test_classifier import _csv

pytestmark = pytest.mark.slow

TOPICS = {
    "billing": ["I was charged twice for my subscription", "my invoice shows the wrong amount",
                "please refund the extra payment", "why did my card get billed again",
                "the price on my bill went up"],
    "login": ["I cannot sign in to my account", "the password reset email never came",
              "my account is locked after too many attempts", "two factor code is rejected",
              "I forgot my username and password"],
    "shipping": ["my parcel has not arrived yet", "the tracking number does not work",
                 "the package was delivered to the wrong address",
                 "how long does delivery take to Canada", "the courier lost my order"],
}
OPENERS = ["", "Hello, ", "Hi team, ", "Urgent: ", "Quick question: ", "Good morning, "]


@pytest.fixture
def topics(ws, tmp_path):
    rows = [(f"{opener}{t}{'.' if (i + j) % 2 else '!'}", label)
            for i, opener in enumerate(OPENERS) for label, texts in TOPICS.items()
            for j, t in enumerate(texts)]
    service.import_file(ws, _csv(tmp_path, "topics.csv", rows), name="topics",
                        input_col="text", target_col="label")
    service.split(ws, "topics", val=0.2, test=0.2, seed=0)
    return "topics"


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.precision
def test_add_test_eval_compare_report(ws, topics, tiny_model, tmp_path, capsys):  # noqa: F811
    code, out, err = _run(capsys, "models", "add", "clf", "--classifier", "--data", topics,
                          "--hourly-cost", "0.36", "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["kind"] == "classifier" and rec["local"] and rec["hourly_cost"] == 0.36
    train = rec["training"]
    assert train["dataset"] == "topics" and train["train_rows"] == 54  # 60% of 90
    assert train["validation_rows"] == 18 and train["c"] in (0.3, 1.0, 3.0, 10.0, 30.0)
    assert train["train_seconds"] > 0

    code, out, err = _run(capsys, "models", "test", "clf", "--prompt",
                          "the delivery van never showed up with my box", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["text"] == "shipping" and answer["output_tokens"] == 0
    assert answer["input_tokens"] > 5 and answer["cost_usd"] > 0

    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts([Variant(name="plain", template="{input}")]))
    code, out, err = _run(capsys, "compare", "--data", topics, "--models", "tiny,clf",
                          "--prompts", str(prompts), "--min-score", "0.8", "--volume", "20000",
                          "--json")
    assert code == 0, err
    data = json.loads(out)
    by = {m["model"]: m for m in data["models"]}
    c = by["clf"]
    assert c["kind"] == "classifier" and c["variant"] is None and by["tiny"]["variant"] == "plain"
    assert c["n"] == 18 and c["score"] >= 0.8
    assert c["latency_p50_ms"] > 0 and c["output_tokens_mean"] == 0
    cells = cells_frame(ws, data["run_id"])
    mine = cells[cells["model_id"] == "clf"]
    assert set(mine["output"]) <= set(TOPICS)
    assert (mine["input_tokens"] > 0).all() and (mine["output_tokens"] == 0).all()
    compute = ws.db.query("SELECT k.compute_s FROM eval_cells c JOIN eval_cache k ON "
                          "k.key = c.cache_key WHERE c.run_id = ? AND c.model_id = 'clf'",
                          (data["run_id"],))
    expected = sum(r["compute_s"] for r in compute) / len(compute) * 0.36 / 3600 * 1000
    assert c["cost_per_1k_usd"] == pytest.approx(expected)  # machine time x hourly cost
    dec = data["decision"]
    assert dec["classifier"]["meets_requirements"] and dec["classifier"]["model"] == "clf"
    # both costs are measured machine time: which is cheaper depends on the machine's load
    if dec["classifier"]["cheaper_than_every_llm"]:
        assert dec["recommendation"] == "clf"
        assert "The embedding classifier clf meets your requirements" in dec["reason"]
    else:
        assert "clf" in dec["classifier"]["text"]

    for suffix in ("md", "html"):
        report = tmp_path / f"r.{suffix}"
        code, _, err = _run(capsys, "report", "--data", topics, "--out", str(report),
                            "--min-score", "0.8")
        assert code == 0, err
        text = report.read_text()
        assert "clf" in text and "embedding classifier, no prompt" in text
        assert "The embedding classifier clf meets your requirements" in text

    # the same rows again: read from the cache; retrained under the same name: computed anew
    code, out, err = _run(capsys, "eval", "--data", topics, "--model", "clf", "--prompts",
                          str(prompts), "--json")
    again = cells_frame(ws, json.loads(out)["run_id"])
    assert code == 0 and len(again) == 18 and again["cached"].all()
    assert _run(capsys, "models", "remove", "clf")[0] == 0
    assert _run(capsys, "models", "add", "clf", "--classifier", "--data", topics)[0] == 0
    code, out, err = _run(capsys, "eval", "--data", topics, "--model", "clf", "--prompts",
                          str(prompts), "--json")
    assert code == 0, err
    assert cells_frame(ws, json.loads(out)["run_id"])["cached"].sum() == 0


def test_a_classifier_refuses_a_non_classification_run(ws, topics, tmp_path, capsys):
    from core.models.classifier import add_classifier

    add_classifier(ws, "clf", topics)
    path = tmp_path / "stars.csv"
    path.write_text("text,stars\n" + "".join(f"review {i},{1 + i % 5}\n" for i in range(30)))
    service.import_file(ws, path, name="stars", input_col="text", target_col="stars",
                        task="scale")
    service.split(ws, "stars", val=0.2, test=0.2, seed=0)
    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts([Variant(name="plain", template="{input}")]))
    code, out, err = _run(capsys, "eval", "--data", "stars", "--model", "clf", "--prompts",
                          str(prompts))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "'clf' is an embedding classifier: it predicts labels" in err
