"""Fine-tuning on free text: validation with the evaluation's metric, several references per
input, before/after with per-row scores, and scoring planned from timed generation."""

from __future__ import annotations

import json
import random

import pytest

from core.finetune import budget as bud
from core.finetune.metric import resolve
from core.finetune.scoring import Validator, before_after, score_backend
from core.models.base import ChatPrompt, GenerationParams
from tests.finetune.conftest import COLORS, FILLER, TINY


def text_frame(n_inputs: int = 40, refs: int = 2, seed: int = 0):
    """Each input three filler words; its references repeat them and add a colour."""
    import pandas as pd

    rng = random.Random(seed)
    rows, seen = [], set()
    while len(seen) < n_inputs:
        words = tuple(rng.sample(FILLER, 3))
        if words in seen:
            continue
        seen.add(words)
        for r in range(refs):
            rows.append({"text": " ".join(words),
                         "label": " ".join([*words, "is", COLORS[(len(seen) + r) % 3]])})
    return pd.DataFrame(rows)


def add_text_dataset(ws, name: str, frame, val: float = 0.25, test: float = 0.25):
    from core.datasets.schema import Mapping
    from core.datasets.splits import make_split
    from core.datasets.versions import save_split, save_version

    mapping = Mapping(input_col="text", target_col="label", task="free_text")
    version, _ = save_version(ws, name, frame, mapping, source="test")
    save_split(ws, version, make_split(frame, mapping, val, test, 0))
    return version


def tiny_backend(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.local import LocalBackend

    return LocalBackend(AutoModelForCausalLM.from_pretrained(folder),
                        AutoTokenizer.from_pretrained(folder), "cpu", "tiny")


def test_free_text_validation_scores_with_the_metric_not_exact_match(tiny_model_dir):
    backend = tiny_backend(tiny_model_dir)
    inputs = ["the sky is", "cat dog paris", "capital of france"]
    prompts = [ChatPrompt(x) for x in inputs]
    kind = resolve("auto", "free_text", ["the sky is blue", "paris is the capital"]).kind
    assert kind not in ("exact", "contains")
    how = Validator("free_text", kind, GenerationParams(max_new_tokens=8))
    outs = [g.text for g in backend.generate(prompts, how.params)]
    assert all(len(o.split()) >= 4 for o in outs)
    # the output itself; half of its words among others; nothing in common with it
    refs = [[outs[0]], [" ".join(outs[1].split()[:3] + ["capital", "of", "france"])],
            ["zzzz qqqq"]]
    got = score_backend(backend, prompts, refs, how)
    assert got.answers == outs
    assert got.scores[0] == pytest.approx(1.0)
    assert 0.0 < got.scores[1] < 1.0
    assert got.scores[2] == pytest.approx(0.0, abs=0.05)
    assert 0.0 < got.score < 1.0 and got.score not in (1 / 3, 2 / 3)  # not a pass rate
    # several references: the row scores against the one it matches best
    multi = score_backend(backend, prompts[:1], [["zzzz qqqq", outs[0]]], how)
    assert multi.scores[0] == pytest.approx(1.0)


def test_validation_rows_that_share_an_input_are_one_example_with_all_references(tiny_ws):
    from transformers import AutoTokenizer

    from core.finetune import build_config
    from core.finetune.plan import plan_run
    from core.finetune.prepare import prepare, test_rows

    add_text_dataset(tiny_ws, "text", text_frame(40, refs=2))
    cfg = build_config("tiny", "text", None, {**TINY, "eval_rows": 64})
    plan = plan_run(tiny_ws, cfg)
    assert plan.config.early_stopping_metric == "val_score"  # auto, for free text
    prep = prepare(plan.config, plan.data, AutoTokenizer.from_pretrained(plan.model_path))
    prompts, refs = prep.score_sets["val"]
    assert len(prompts) == len(plan.data.eval) // 2 and all(len(r) == 2 for r in refs)
    assert prep.validator.kind == resolve("auto", "free_text", plan.data.train.targets).kind
    rows = test_rows(plan.data, 0)
    assert len(rows) == len(plan.data.test) // 2
    assert all(len(r["targets"]) == 2 and r["target"] == r["targets"][0] for r in rows)


def test_before_after_on_free_text_has_per_row_scores_and_outputs(tiny_ws, tmp_path):
    from core.models.registry import build_spec
    from core.prompts.variants import Variant
    from tests.tiny import tiny_llama, tiny_tokenizer

    other = tmp_path / "tiny-other"
    tiny_llama(seed=1).save_pretrained(other, safe_serialization=True)
    tiny_tokenizer(chat=True).save_pretrained(other)
    tiny_ws.registry.add(build_spec(id="tiny-other", kind="folder", source=str(other),
                                     hourly_cost=0.25))
    frame = text_frame(12, refs=2, seed=4)
    rows = []
    for i, (text, group) in enumerate(frame.groupby("text", sort=False)):
        refs = list(group["label"])
        rows.append({"row_id": i, "text": text, "input": text, "target": refs[0],
                     "targets": refs, "context": ""})
    kind = resolve("auto", "free_text", [r["target"] for r in rows]).kind
    out = before_after(tiny_ws, "tiny", "tiny-other", Variant(name="v", template="{input}"),
                       rows, "free_text", None, kind, train_rows=rows)
    assert out["scorer"] == kind and out["graded"]
    assert [r["row"] for r in out["rows"]] == [r["row_id"] for r in rows]
    for side in ("before", "after"):
        assert out[side]["n"] == len(rows)
        assert all(0.0 <= r[f"{side}_score"] <= 1.0 for r in out["rows"])
        mean = sum(r[f"{side}_score"] for r in out["rows"]) / len(rows)
        assert out[side]["score"] == pytest.approx(mean)
        assert out[side]["ci_low"] <= out[side]["score"] <= out[side]["ci_high"]
    assert len(out["samples"]) == 5
    s = out["samples"][0]
    assert {"input", "target", "references", "before", "after", "before_score",
            "after_score"} <= set(s) and s["references"] == 2 and s["before"] and s["after"]
    ch = out["changed"]
    assert ch["n_improved"] + ch["n_worsened"] + ch["n_same"] == len(rows)
    assert all(x["change"] > 0 for x in ch["improved"])
    assert [x["change"] for x in ch["worsened"]] == sorted(x["change"] for x in ch["worsened"])
    cmp = out["comparison"]
    assert cmp["test"] == "paired permutation" and 0 < cmp["p_value"] <= 1 and cmp["verdict"]


def test_slow_generation_plans_fewer_rows_within_the_shares():
    fast = bud.plan_scoring(300, 0.1, 630, 32, 3)
    slow = bud.plan_scoring(300, 0.8, 630, 32, 3)
    assert fast.test_rows > slow.test_rows >= bud.MIN_TEST_ROWS_TEXT
    assert fast.val_rows == 32 > slow.val_rows >= bud.MIN_VAL_ROWS_TEXT
    for p, row_s in ((fast, 0.1), (slow, 0.8)):
        assert p.before_after_s <= bud.SCORE_SHARE * 300 + 1e-6
        assert 3 * p.validate_score_s <= bud.VALIDATE_SHARE * 300 + 1e-6
        assert p.before_after_s == pytest.approx(2 * row_s * p.test_rows
                                                 + bud.BEFORE_AFTER_FIXED_S, abs=0.1)
    # a fine-tuned model that writes longer answers than the timed base costs more
    longer = bud.plan_scoring(300, 0.4, 630, 32, 3, factor=bud.after_factor(10, 30))
    assert longer.test_rows < bud.plan_scoring(300, 0.4, 630, 32, 3).test_rows
    # a small test split is scored whole; so is a Quick run's 630 inputs at 0.02 s a row
    assert bud.plan_scoring(300, 0.8, 20, 32, 3).test_rows == 20
    assert bud.plan_scoring(300, 0.02, 630, 32, 3).test_rows == 630


def test_long_answers_give_up_scoring_before_training_time():
    """DialogSum on Quick: ~100-token answers at 2.7 s a row once left 3 training steps."""
    budget, spent, row_s, step_s, loss_eval_s = 300, 40, 2.7, 2.0, 3.0
    p = bud.plan_scoring(budget, row_s, 500, 32, 3, spent_s=spent)
    assert p.val_rows == 0 and p.validate_score_s == 0
    assert bud.MIN_TEST_ROWS_FLOOR <= p.test_rows < bud.MIN_TEST_ROWS_TEXT
    assert "loss alone" in p.traded[0] and f"{p.test_rows} test inputs" in p.traded[1]
    steps = bud.budget_steps(budget, spent, step_s, p.before_after_s, loss_eval_s, 3, 10_000)
    assert steps * step_s >= 0.5 * budget
    # what the floors (30 test inputs, 8 validation answers a time) left before
    old_ba = bud.MIN_TEST_ROWS_TEXT * 2 * row_s + bud.BEFORE_AFTER_FIXED_S
    old_eval = loss_eval_s + bud.MIN_VAL_ROWS_TEXT * row_s
    assert bud.budget_steps(budget, spent, step_s, old_ba, old_eval, 3, 10_000) * step_s < (
        0.5 * budget)
    # short answers trade nothing
    assert bud.plan_scoring(budget, 0.2, 500, 32, 3, spent_s=spent).traded == ()


def test_a_budgeted_free_text_run_times_generation_and_reports_rows(tiny_ws):
    from core import jobs
    from core.finetune import build_config, service
    from tests.conftest import wait_for

    add_text_dataset(tiny_ws, "text", text_frame(40, refs=2))
    cfg = build_config("tiny", "text", None, {**TINY, "max_steps": 0, "time_budget_min": 0.5,
                                              "evaluations": 2, "epochs": 2.0})
    run_id = service.start(tiny_ws, cfg).run_id
    wait_for(lambda: service.get_run(tiny_ws, run_id)["status"] not in ("queued", "running"),
             timeout=240, every=1)
    rec = service.get_run(tiny_ws, run_id)
    assert rec["status"] in ("succeeded", "stopped_early"), rec.get("error")
    run_dir = jobs.get(tiny_ws, run_id).run_dir
    budget = json.loads((run_dir / "budget.json").read_text())
    sc = budget["scoring"]
    assert sc["s_per_row"] > 0 and sc["rows"] >= 1 and sc["after_factor"] >= 1
    assert rec["config"]["test_rows"] == sc["test_rows"] == rec["before"]["n"]
    assert rec["config"]["early_stopping_metric"] == "val_score"
    evals = [m for m in jobs.read_metrics(run_dir) if m["kind"] == "eval"]
    assert evals and all(0.0 <= m["val_score"] <= 1.0 for m in evals)
    assert rec["scorer"] and rec["samples"] and rec["comparison"]["verdict"]
    res = json.loads((run_dir / "results.json").read_text())
    assert len(res["rows"]) == rec["before"]["n"]
    # the run page shows the scorer, the verdict and test rows' outputs before and after
    from tests.conftest import open_app

    at = open_app("views/finetune.py", timeout=60)
    assert not at.exception, at.exception
    assert any(f"scorer `{rec['scorer']}`" in m.value for m in at.markdown)
    assert any("Test rows, before and after" in m.value for m in at.markdown)
    # the samples table (the runs table and the head-to-head come before it)
    shown = next(d.value for d in at.dataframe if "fine-tuned output" in d.value.columns)
    assert {"input", "reference", "base output", "fine-tuned output", "base score",
            "fine-tuned score"} <= set(shown.columns) and len(shown) == len(rec["samples"])
