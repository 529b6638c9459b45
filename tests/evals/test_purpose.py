"""A run records why it was made (eval_runs.purpose); pages and the report read that column."""

from __future__ import annotations

import json
import time

import pytest

from core.compare.service import comparison_config
from core.evals.config import EvalConfig
from core.evals.engine import create_run
from core.evals.store import get_run, list_runs
from core.models.registry import build_spec
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)
from tests.tiny import tiny_llama, tiny_tokenizer

SHORT = Variant(name="short", template="{input}")
LONG = Variant(name="long", template="Text: {input}\nLabel:")
SIMILAR = Variant(name="similar", template="{examples} {input}", few_shot=2,
                  few_shot_mode="similar", example_template="{input} {target}")


def fine_tuned(ws, name: str = "tiny+ft-1") -> str:
    """A fully fine-tuned model as the fine-tune worker leaves it: a folder in the runs dir."""
    folder = ws.settings.runs_dir / "ft-1" / "model"
    tiny_llama(5).save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer(chat=False).save_pretrained(folder)
    ws.registry.add(build_spec(id=name, kind="finetuned", source=str(folder), hourly_cost=1.0,
                               notes="fine-tuned from tiny by run ft-1"))
    return name


def test_each_kind_of_run_records_its_purpose(ws, tiny_data, tiny_model):  # noqa: F811
    tuned = fine_tuned(ws)
    lab = create_run(ws, EvalConfig(dataset=tiny_data, models=[tiny_model],
                                    variants=[SHORT, LONG]))
    dyn = create_run(ws, EvalConfig(dataset=tiny_data, models=[tiny_model],
                                    variants=[SHORT, SIMILAR]))
    comp = create_run(ws, comparison_config(tiny_data, [tiny_model, tuned], [SHORT, LONG]))
    check = create_run(ws, EvalConfig(dataset=tiny_data, models=[tuned], variants=[SHORT]))
    said = create_run(ws, EvalConfig(dataset=tiny_data, models=[tuned], variants=[SHORT]),
                      purpose="prompt_lab")  # a caller may say why
    got = {r["id"]: r["purpose"] for r in list_runs(ws, tiny_data)}
    assert got == {lab: "prompt_lab", dyn: "dynamic", comp: "comparison",
                   check: "heldout_check", said: "prompt_lab"}
    assert get_run(ws, check)["purpose"] == "heldout_check"
    assert [r["id"] for r in list_runs(ws, tiny_data, purpose="comparison")] == [comp]
    assert {r["id"] for r in list_runs(ws, purpose=("prompt_lab", "dynamic"))} == {lab, dyn, said}
    with pytest.raises(ValueError, match="unknown run purpose 'lab'"):
        list_runs(ws, purpose="lab")
    with pytest.raises(ValueError, match="use one of prompt_lab, dynamic"):
        create_run(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], variants=[SHORT]),
                   purpose="whatever")
    assert len(list_runs(ws)) == 5  # the refused one stored nothing


def test_the_migration_gives_stored_runs_their_purpose(tmp_path, monkeypatch):
    """Runs stored before 0009 get theirs once, by the rules new runs follow."""
    from core.store import db as dbmod
    from core.store.migrations import MIGRATIONS

    before = [m for m in MIGRATIONS if m[0] < "0009"]
    monkeypatch.setattr(dbmod, "MIGRATIONS", before)
    db = dbmod.open_db(tmp_path / "old.sqlite")
    now = time.time()
    db.execute("INSERT INTO models (id, kind, source, base_model, created_at, updated_at) "
               "VALUES ('ad', 'adapter', '/x', 'base', ?, ?)", (now, now))
    db.execute("INSERT INTO models (id, kind, source, notes, created_at, updated_at) VALUES "
               "('full', 'folder', '/y', 'fine-tuned from base by run ft-2', ?, ?)", (now, now))
    db.execute("INSERT INTO models (id, kind, source, created_at, updated_at) VALUES "
               "('base', 'folder', '/z', ?, ?)", (now, now))
    short, similar = SHORT.model_dump(), SIMILAR.model_dump()
    configs = {
        "prompt_lab": {"models": ["base"], "variants": [short, LONG.model_dump()]},
        "dynamic": {"models": ["base"], "variants": [short, similar]},
        "dynamic kb": {"models": ["base"], "variants": [short], "kb": "help"},
        "comparison": {"models": ["base", "ad"], "variants": [short, similar],
                       "pairs": [["base", "short"], ["ad", "similar"]]},
        "heldout adapter": {"models": ["ad"], "variants": [short]},
        "heldout full": {"models": ["full"], "variants": [short], "pairs": None},
        "mixed": {"models": ["ad", "base"], "variants": [short]},
    }
    for name, cfg in configs.items():
        db.execute("INSERT INTO eval_runs (name, dataset, version_hash, split, model_id, config,"
                   " created_at, updated_at) VALUES (?, 'd', 'h', 'test', ?, ?, ?, ?)",
                   (name, ",".join(cfg["models"]), json.dumps(cfg), now, now))
    monkeypatch.setattr(dbmod, "MIGRATIONS", [m for m in MIGRATIONS if m[0] <= "0009~"])
    assert db.migrate() == ["0009_eval_purpose"]
    got = {r["name"]: r["purpose"] for r in db.query("SELECT name, purpose FROM eval_runs")}
    assert got == {"prompt_lab": "prompt_lab", "dynamic": "dynamic", "dynamic kb": "dynamic",
                   "comparison": "comparison", "heldout adapter": "heldout_check",
                   "heldout full": "heldout_check", "mixed": "prompt_lab"}
    assert db.migrate() == []  # once
