"""Teacher -> student end to end on the sample tickets with all but 40 labels hidden.

The teacher (the fake OpenAI-compatible server, wrong on every fifth ticket) labels the
rest; the rows it could not label are dropped; a tiny student is fine-tuned on its labels;
the comparison on the 40 gold rows shows teacher, student and the embedding classifier,
with the labelling cost in the student's one-time cost and in the decision.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from core.cli import main
from core.compare.service import training_cost
from core.datasets import versions as store
from core.labelling import store as label_store
from tests.conftest import LADDER
from tests.finetune.conftest import TINY, tiny_model_dir  # noqa: F401 (fixture)
from tests.labelling.conftest import HAND

pytestmark = pytest.mark.slow  # a fine-tune and a classifier (~1 min)


def cli(capsys, *argv) -> dict:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_teacher_student_classifier_on_gold_rows(ws, hidden, teacher, prompts, capsys,
                                                 tiny_model_dir, monkeypatch):  # noqa: F811
    from core.models.registry import build_spec

    monkeypatch.setenv("LADDER_ALLOW_TINY", "1")
    ws.registry.add(build_spec(id="tiny", kind="folder", source=str(tiny_model_dir),
                               hourly_cost=0.25))
    cli(capsys, "data", "import", str(hidden[0]), "--name", "tickets", "--input-col", "text",
        "--target-col", "category", "--task", "classification")
    labelled = cli(capsys, "data", "label", "tickets", "--model", "teacher", "--prompts", prompts,
                   "--variant", "zero", "--gold", str(HAND))
    cost = labelled["label_run"]["cost_usd"]
    assert cost > 0
    fixed = cli(capsys, "data", "fix", "tickets", "--drop-empty")  # the unparsed rows
    assert fixed["created"] and fixed["removed"]["empty"] >= labelled["still_unlabelled"]
    v = store.get_version(ws, "tickets")
    assert label_store.runs_for(ws, "tickets", v.hash)[0].cost_usd == cost  # via its parent

    sets = [f"{k}={val}" for k, val in {**TINY, "max_seq_len": 256,
                                         "tokens_per_batch": 2048}.items()]
    p = subprocess.run([*LADDER, "finetune", "start", "--data", "tickets", "--model", "tiny",
                        *sum((["--set", s] for s in sets), []), "--wait", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    student = json.loads(p.stdout)["model_id"]
    spec = ws.registry.get(student)
    assert training_cost(ws, student) >= cost  # the labels are part of its one-time cost
    cli(capsys, "models", "add", "clf", "--classifier", "--data", "tickets")

    out = cli(capsys, "compare", "--data", "tickets", "--models", f"teacher,{student},clf",
              "--prompts", prompts, "--volume", "100000")
    by = {m["model"]: m for m in out["models"]}
    assert set(by) == {"teacher", student, "clf"}
    assert all(m["n"] == HAND for m in by.values())  # every option on the 40 gold rows
    # the first 40 tickets keep their labels; the teacher is wrong on every fifth of them
    assert by["teacher"]["score"] == pytest.approx(32 / 40)
    [d] = out["distillation"]
    assert d["student"] == student and d["teacher"] == "teacher" and d["teacher_in_run"]
    assert d["labelling_cost_usd"] == pytest.approx(cost, abs=1e-6)
    assert d["gold_rows"] == HAND and d["agreement_rows"] == HAND
    assert 0 <= d["agreement_with_teacher"] <= 1
    assert d["student_accuracy"] == by[student]["score"]
    assert d["teacher_accuracy"] == pytest.approx(0.8)
    assert "counted in its one-time cost" in d["text"]
    assert spec.kind in ("adapter", "finetuned")
    report = ws.settings.root / "report.md"
    assert main(["report", "--data", "tickets", "--out", str(report)]) == 0
    assert f"Teacher labels: {d['text']}" in report.read_text()
