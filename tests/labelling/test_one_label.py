"""A teacher that gives every row one label is refused at any size unless
--allow-one-label; progress goes to stderr with --json too; long inputs are checked."""

from __future__ import annotations

import json

import pytest

from core.datasets import service
from core.datasets import versions as store
from core.labelling import store as label_store
from core.models.registry import build_spec
from tests.evals.conftest import tiny_model  # noqa: F401,F811 - a fixture
from tests.fake_openai import FakeOpenAIServer
from tests.labelling.test_teacher import imported, run


@pytest.fixture
def monotone(ws):
    with FakeOpenAIServer(answer=lambda body: "billing") as srv:
        ws.registry.add(build_spec(id="mono", kind="openai", source="fake-model",
                                   base_url=srv.url, price_in_per_m=1.0, price_out_per_m=1.0))
        yield srv


def test_one_label_refused_with_a_limit_and_without(ws, hidden, monotone, prompts, capsys):
    parent = imported(ws, hidden)
    for extra in (["--limit", "40"], []):
        code, out, err = run(capsys, "data", "label", "tickets", "--model", "mono", "--prompts",
                             prompts, "--variant", "zero", *extra)
        assert code == 1 and "Traceback" not in err, err
        line = err.strip().splitlines()[-1]
        assert "answered 'billing' for all" in line and "--allow-one-label" in line
        assert "hand label" in line  # the check against people is reported
        assert [v.number for v in store.list_versions(ws, "tickets")] == [parent.number]
    assert label_store.list_runs(ws) == []


def test_allow_one_label_writes_even_a_single_class_dataset(ws, tmp_path, monotone, prompts,
                                                           capsys):
    path = tmp_path / "raw.csv"
    path.write_text("text\nmy invoice is wrong\nI was charged twice\nrefund my card\n")
    service.import_file(ws, path, name="raw", input_col="text", target_col="label",
                        task="classification", unlabelled=True)
    base = ["data", "label", "raw", "--model", "mono", "--prompts", prompts, "--variant", "zero",
            "--labels", "billing,bug"]
    code, out, err = run(capsys, *base)
    assert code == 1 and "answered 'billing' for all 3 rows" in err
    assert "no hand-labelled row" in err and "map another target column" not in err
    assert len(store.list_versions(ws, "raw")) == 1
    code, out, err = run(capsys, *base, "--allow-one-label", "--json")
    assert code == 0, err
    rec = json.loads(out)  # stdout stays one JSON document
    assert rec["created"] and rec["label_run"]["labelled"] == 3
    assert "labelled 3/3 rows" in err  # progress on stderr with --json, as documented
    assert len(store.list_versions(ws, "raw")) == 2


def test_labelling_checks_the_teachers_context(ws, tmp_path, tiny_model, prompts,  # noqa: F811
                                               capsys):
    path = tmp_path / "raw.csv"
    path.write_text("text,label\nthe sky is blue,yes\na cat is red,no\n"
                    + " ".join(["the dog is green"] * 50) + ",\n")
    service.import_file(ws, path, name="raw", input_col="text", target_col="label",
                        task="classification")
    base = ["data", "label", "raw", "--model", "tiny", "--prompts", prompts, "--variant", "zero"]
    code, out, err = run(capsys, *base)
    assert code == 1 and "do not fit tiny's context of 128 tokens" in err
    assert len(store.list_versions(ws, "raw")) == 1
    code, out, err = run(capsys, *base, "--truncate", "tail", "--allow-one-label", "--json")
    assert code == 0, err
    assert json.loads(out)["truncated_rows"] == [2]
