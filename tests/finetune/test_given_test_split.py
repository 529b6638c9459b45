"""A dataset imported with its own test file: the comparison and the fine-tune's before/after
run on exactly that file's rows (counts and content hashes), on the tiny model."""

from __future__ import annotations

import hashlib
import json

from core import datasets
from core.cli import main
from core.evals.store import cells_frame
from core.finetune import build_config
from core.finetune.plan import load_run_data
from core.models.registry import build_spec
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.finetune.conftest import TINY, toy_frame


def pairs_hash(pairs) -> str:
    """The identity of a list of (input, target) rows, in order."""
    return hashlib.sha256(json.dumps([list(p) for p in pairs]).encode()).hexdigest()


def test_comparison_and_before_after_use_the_given_test_file(tiny_ws, tmp_path, capsys):
    ws = tiny_ws
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    toy_frame(60, seed=1).to_csv(train, index=False)
    held = toy_frame(15, seed=7)
    held.to_csv(test, index=False)
    expected = pairs_hash(zip(held["text"], held["label"], strict=True))
    assert main(["data", "import", str(train), "--name", "given", "--input-col", "text",
                 "--target-col", "label", "--test-file", str(test)]) == 0
    capsys.readouterr()

    # what the fine-tune reads (the worker calls the same function)
    data = load_run_data(ws, build_config("tiny", "given", None, TINY))
    assert len(data.test) == 15
    assert pairs_hash(zip((v["text"] for v in data.test.values), data.test.targets,
                          strict=True)) == expected
    # train and validation are the train file's rows, validation cut from them
    assert len(data.eval) > 0
    assert sorted(v["text"] for v in data.train.values + data.eval.values) == sorted(
        toy_frame(60, seed=1)["text"])

    # a comparison of two models scores exactly those rows
    ws.registry.add(build_spec(id="tiny-b", kind="folder",
                               source=ws.registry.get("tiny").source, hourly_cost=0.5))
    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts([Variant(name="plain", template="{input}")]))
    assert main(["compare", "--data", "given", "--models", "tiny,tiny-b", "--prompts",
                 str(prompts), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    cells = cells_frame(ws, run_id)
    version = datasets.get_version(ws, "given")
    frame = datasets.load_frame(ws, version)
    for model in ("tiny", "tiny-b"):
        ids = sorted(cells[cells["model_id"] == model]["row_id"].unique())
        assert len(ids) == 15
        assert pairs_hash((frame["text"][i], frame["label"][i]) for i in ids) == expected

    # the fine-tune's before/after: the same 15 rows
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    assert main(["finetune", "start", "--data", "given", "--model", "tiny", *sets, "--wait",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded"
    assert out["before"]["n"] == out["after"]["n"] == 15
    flipped = out["flipped"]["fail_to_pass"] + out["flipped"]["pass_to_fail"]
    assert {f["input"] for f in flipped} <= set(held["text"])
