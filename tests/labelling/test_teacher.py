"""`ladder data label`: a teacher labels the unlabelled rows into a new version, resumably."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.datasets import service
from core.datasets import versions as store
from core.labelling import store as label_store
from core.labelling.teacher import PROVENANCE, LabelError, label_dataset
from core.models.registry import build_spec
from core.prompts.files import load_prompts
from tests.labelling.conftest import HAND, MUMBLE, expected_label


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def imported(ws, hidden) -> store.Version:
    path = hidden[0]
    return service.import_file(ws, path, name="tickets", input_col="text",
                               target_col="category", task="classification").version


def test_label_with_gold_rows(ws, hidden, teacher, prompts, capsys):
    _, truth, ids = hidden
    parent = imported(ws, hidden)
    todo = service.unlabelled_rows(ws, parent)
    old = store.load_frame(ws, parent)
    assert todo and min(todo) >= HAND  # the hidden rows with an input
    code, out, err = run(capsys, "data", "label", "tickets", "--model", "teacher", "--prompts",
                         prompts, "--variant", "zero", "--gold", "40", "--json")
    assert code == 0, err
    rec = json.loads(out)
    run_rec = rec["label_run"]
    asked = len(todo)
    assert rec["version"] == parent.number + 1 and rec["created"]
    assert run_rec["asked"] == asked and run_rec["gold"] == 40
    mumbled = sum(expected_label(truth, ids, old["text"][i]) is None for i in todo)
    assert mumbled >= len(MUMBLE), run_rec["unparsed"]
    assert run_rec["labelled"] == asked - mumbled, run_rec["unparsed"]
    assert rec["still_unlabelled"] == mumbled
    assert {u["row_id"] for u in run_rec["unparsed"]} == {
        i for i in todo if expected_label(truth, ids, old["text"][i]) is None}
    assert MUMBLE <= {ids[old["text"][u["row_id"]]] for u in run_rec["unparsed"]}
    # cost: the fake server's word-count usage x the prices, summed over every request
    reqs = [r for r in teacher.requests if r.path.endswith("/chat/completions")]
    assert len({old["text"][i] for i in todo}) <= len(reqs) <= asked + run_rec["check_rows"]
    # checked on the 40 gold rows first: wrong on every fifth of them, as programmed
    assert run_rec["check_rows"] == 40 and run_rec["check_agreement"] == pytest.approx(0.8)
    assert run_rec["cost_usd"] > 0 and run_rec["model_s"] > 0

    new = store.get_version(ws, "tickets")
    frame = store.load_frame(ws, new)
    for i in range(len(frame)):
        text, label, src = frame["text"][i], frame["category"][i], frame[PROVENANCE][i]
        if i < HAND:  # hand labels are kept, marked human
            assert (label, src) == (old["category"][i], "human")
        elif not text.strip() or expected_label(truth, ids, text) is None:
            assert (label, src) == ("", "")
        else:
            assert (label, src) == (expected_label(truth, ids, text), "teacher:teacher")
    # the parent is unchanged; the 40 hand-labelled rows are the given test split
    assert store.load_frame(ws, parent)["category"].tolist() == old["category"].tolist()
    assert new.given == ("train", "test")
    sp = store.get_split(ws, new)
    assert sorted(sp.indices("test").tolist()) == list(range(HAND))
    assert sp.sizes()["validation"] > 0
    assert label_store.runs_for(ws, "tickets", new.hash)[0].cost_usd == run_rec["cost_usd"]

    code, out, err = run(capsys, "data", "show", "tickets", "--json")
    shown = json.loads(out)["versions"]
    assert [v["unlabelled"] for v in shown] == [asked, mumbled]


def test_stopped_labelling_resumes_without_asking_again(ws, hidden, teacher, prompts):
    parent = imported(ws, hidden)
    variant = next(v for v in load_prompts(prompts) if v.name == "zero")
    todo = service.unlabelled_rows(ws, parent)[:100]
    distinct = len({store.load_frame(ws, parent)["text"][i] for i in todo})
    calls = []

    def stop_after_first_chunk():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(LabelError, match="run the same labelling again to resume"):
        label_dataset(ws, "tickets", "teacher", variant, limit=100,
                      should_stop=stop_after_first_chunk)
    assert [v.number for v in store.list_versions(ws, "tickets")] == [parent.number]
    first = len(teacher.requests)
    assert 0 < first < distinct + 40  # 100 rows to label and 40 hand-labelled to check
    seen = []
    res = label_dataset(ws, "tickets", "teacher", variant, limit=100,
                        progress=lambda d, t, eta: seen.append((d, t, eta)))
    assert res.run.resumed >= first and res.run.asked == 100 and res.run.check_rows == 40
    # only the rows not answered before were asked again
    assert len(teacher.requests) - first <= 140 - res.run.resumed
    assert seen[0][0] >= first and seen[-1][:2] == (140, 140)
    assert res.still_unlabelled == len(service.unlabelled_rows(ws, parent)) - res.run.labelled


def test_bad_input_writes_nothing(ws, hidden, teacher, prompts, capsys):
    parent = imported(ws, hidden)

    def refused(*argv, match):
        code, out, err = run(capsys, "data", "label", "tickets", "--prompts", prompts,
                             "--variant", "zero", *argv)
        assert code != 0 and match in err and "Traceback" not in err, err
        assert [v.number for v in store.list_versions(ws, "tickets")] == [parent.number]

    refused("--model", "nobody", match="nobody")
    refused("--model", "teacher", "--gold", "41", match="more than the 40 hand-labelled rows")
    refused("--model", "teacher", "--variant", "missing", match="no variant 'missing'")
    ws.registry.add(build_spec(id="gone", kind="openai", source="retired-model",
                               base_url=teacher.url, price_in_per_m=1.0,
                               price_out_per_m=1.0))  # the server answers 404 for it
    refused("--model", "gone", "--limit", "3", match="run the same labelling again")
    with pytest.raises(SystemExit) as exit_:  # argparse: not a positive integer
        main(["data", "label", "tickets", "--model", "teacher", "--prompts", prompts,
              "--variant", "zero", "--limit", "0"])
    assert exit_.value.code == 2 and "must be at least 1" in capsys.readouterr().err
    assert label_store.list_runs(ws) == []


def test_unlabelled_import_and_label_set(ws, tmp_path, teacher, prompts, capsys):
    path = tmp_path / "raw.csv"
    path.write_text("text\nmy invoice is wrong\nthe app crashes\n")
    code, out, err = run(capsys, "data", "import", str(path), "--name", "raw", "--input-col",
                         "text", "--target-col", "label")
    assert code != 0 and "--unlabelled" in err
    code, out, err = run(capsys, "data", "import", str(path), "--name", "raw", "--input-col",
                         "text", "--target-col", "label", "--task", "classification",
                         "--unlabelled", "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["unlabelled"] == 2 and "label" in rec["columns"]
    code, out, err = run(capsys, "data", "label", "raw", "--model", "teacher", "--prompts",
                         prompts, "--variant", "zero")
    assert code != 0 and "--labels" in err
    code, out, err = run(capsys, "data", "label", "raw", "--model", "teacher", "--prompts",
                         prompts, "--variant", "zero", "--labels", "billing,bug, billing")
    assert code != 0 and "the label 'billing' is given twice in --labels" in err
    assert len(store.list_versions(ws, "raw")) == 1


def test_finetune_waits_for_labels(ws, hidden):
    from core.finetune.config import FinetuneConfig, FinetuneError
    from core.finetune.plan import plan_run

    imported(ws, hidden)
    service.split(ws, "tickets", 0.1, 0.1, 0)
    with pytest.raises(FinetuneError, match=r"train rows without a label \(and \d+ with one\); "
                                            "label them with `ladder data label tickets"):
        plan_run(ws, FinetuneConfig(base_model="smollm2-135m-instruct", dataset="tickets"))


@pytest.mark.slow  # the packaged SmolLM2 answers 12 rows (~10 s)
def test_packaged_smollm2_as_teacher(ws, hidden, prompts):
    parent = imported(ws, hidden)
    variant = next(v for v in load_prompts(prompts) if v.name == "zero")
    res = label_dataset(ws, "tickets", "smollm2-135m-instruct", variant, limit=12)
    assert res.created and res.run.asked == 12 and res.run.labelled == 12  # likelihood: a label
    assert res.run.cost_usd > 0  # machine time x the packaged model's hourly cost
    frame = store.load_frame(ws, res.version)
    done = frame[frame[PROVENANCE] == "teacher:smollm2-135m-instruct"]
    assert len(done) == 12
    assert set(done["category"]) <= {"account", "billing", "bug", "feature_request"}
    assert res.still_unlabelled == len(service.unlabelled_rows(ws, parent)) - 12
