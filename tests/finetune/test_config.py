"""Run settings: presets, --set parsing, and every bad input refused before a process starts."""

from __future__ import annotations

import json

import pytest

from core import jobs
from core.finetune import FinetuneConfig, FinetuneError, build_config, parse_sets
from core.finetune.config import PRESETS
from core.finetune.plan import plan_run
from tests.finetune.conftest import TINY, add_dataset_assigned, toy_frame


def test_presets_build_and_round_trip_through_json():
    for name in PRESETS:
        cfg = build_config("m", "d", name)
        again = FinetuneConfig(**json.loads(json.dumps(cfg.model_dump(mode="json"))))
        assert again == cfg
    assert build_config("m", "d", "quick", {"lr": 1e-4}).lr == 1e-4
    for name, field in FinetuneConfig.model_fields.items():
        assert field.description, f"{name} has no help text"


def test_set_parsing_coerces_types():
    got = parse_sets(["lr=5e-4", "max_steps=30", "export_merged=yes", "dataset_version=none",
                      "target-modules=all_linear", "epochs=2"])
    assert got == {"lr": 5e-4, "max_steps": 30, "export_merged": True, "dataset_version": None,
                   "target_modules": "all_linear", "epochs": 2.0}
    with pytest.raises(FinetuneError, match="whole number"):
        parse_sets(["max_steps=1.5"])
    with pytest.raises(FinetuneError, match="key=value"):
        parse_sets(["lr"])


def test_unknown_setting_names_close_matches():
    with pytest.raises(FinetuneError, match="unknown setting name 'learning_rat'; did you mean lr"):
        parse_sets(["learning_rat=1"])
    assert parse_sets(["learning_rate=1e-4", "r=4"]) == {"lr": 1e-4, "lora_r": 4}
    with pytest.raises(FinetuneError, match="did you mean lora_r"):
        parse_sets(["lora_rr=4"])
    with pytest.raises(FinetuneError, match="unknown setting name 'epochz'.*epochs"):
        build_config("m", "d", None, {"epochz": 2})


@pytest.mark.parametrize("overrides, message", [
    ({"lr": 0}, "lr must be positive"),
    ({"lr": -1e-4}, "lr must be positive"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"optimizer": "adam"}, "optimizer"),
    ({"early_stopping_metric": "val_score", "eval_rows": 0}, "eval_rows above 0"),
    ({"variant": {"name": "v", "template": "{examples} {input}", "few_shot": 2}},
     "fixed few-shot.*few_shot_mode: similar"),
])
def test_bad_settings_are_refused(overrides, message):
    with pytest.raises(FinetuneError, match=message):
        build_config("m", "d", "quick", overrides)
    with pytest.raises(FinetuneError, match="unknown preset"):
        build_config("m", "d", "fast")


def _refused(ws, match, **over):
    cfg = build_config(over.pop("model", "tiny"), over.pop("data", "toy"), None, {**TINY, **over})
    with pytest.raises(FinetuneError, match=match):
        plan_run(ws, cfg)
    assert jobs.list_jobs(ws) == []  # nothing queued, no run folder


def test_workspace_checks_before_start(tiny_ws, monkeypatch):
    ws = tiny_ws
    _refused(ws, "longest prompt \\+ answer is .* max_seq_len=", max_seq_len=8)
    _refused(ws, "no dataset 'nope'", data="nope")
    _refused(ws, "Unknown model 'ghost'", model="ghost")
    from core.datasets.schema import Mapping
    from core.datasets.versions import save_version

    save_version(ws, "nosplit", toy_frame(), Mapping(input_col="text", target_col="label"),
                 source="test")
    _refused(ws, "has no train split; make one with `ladder data split nosplit", data="nosplit")
    add_dataset_assigned(ws, "allval", toy_frame(10), [1] * 5 + [2] * 5)
    _refused(ws, "no rows in its train split", data="allval")
    _refused(ws, "placeholder \\{nope\\}",
             variant={"name": "v", "template": "{input} {nope}"})
    from core.models.registry import build_spec

    ws.registry.add(build_spec(id="api", kind="openai", source="gpt", base_url="http://127.0.0.1:9/v1",
                               price_in_per_m=0.1, price_out_per_m=0.2))
    _refused(ws, "'api' is an API model", model="api")
    monkeypatch.delenv("LADDER_ALLOW_TINY")
    _refused(ws, "LADDER_ALLOW_TINY=1")


def test_plan_fills_version_and_estimates(tiny_ws):
    plan = plan_run(tiny_ws, build_config("tiny", "toy", None, TINY))
    assert plan.config.dataset_version == 1 and len(plan.config.dataset_hash) == 64
    assert plan.config.variant["name"] == "fine-tune"
    est = plan.estimate
    assert est.steps == 12 and 0 < est.trainable < est.params and est.seconds > 0
    assert est.memory_gb > 0 and "Estimate (" in est.text() and "examples" in est.text()
    assert len(plan.data.train) == 36 and plan.data.labels == ["no", "yes"]


def test_quick_and_balanced_train_the_encoder_on_classification_by_evidence():
    from core.finetune.approach import EVIDENCE, explain

    for preset in ("quick", "balanced"):
        cfg = build_config("m", "d", preset)
        assert cfg.approach_for("classification") == "encoder"
        assert cfg.approach_for("free_text") == "generate"
        tuned = cfg.for_task("classification")
        assert tuned.approach == "encoder" and tuned.lr == 3e-5 and tuned.eval_rows == 2000
        said = explain("auto", preset, "classification")
        assert "MiniLM" in said and EVIDENCE[(preset, "encoder")] in said
    assert build_config("m", "d", "thorough").approach_for("classification") == "generate"
    assert build_config("m", "d", "quick", {"approach": "generate"}).approach_for(
        "classification") == "generate"
