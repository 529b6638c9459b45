"""The matrix runner on a tiny model: cells, caching, resume, consistency, bad input."""

from __future__ import annotations

import json
import math

import pytest

from core.evals.config import EvalConfig
from core.evals.engine import EvalError, create_run, execute_run, run_eval
from core.evals.store import cells_frame, get_run, list_runs
from core.evals.summary import leaderboard, matrix, row_results, verdict
from core.prompts.variants import Variant

V = [Variant(name="plain", template="{input}"),
     Variant(name="fewshot", template="{examples} {input}", few_shot=3,
             example_template="{input} {target}")]
KEYS = {"name", "n", "score", "ci_low", "ci_high", "consistency", "invalid_rate",
        "latency_p50_ms", "latency_p95_ms", "input_tokens_mean", "output_tokens_mean",
        "cost_per_1k_usd"}


def cfg(data, model, **kw):
    return EvalConfig(dataset=data, models=[model], variants=V, **kw)


def cache_rows(ws):
    return ws.db.query("SELECT COUNT(*) AS n FROM eval_cache")[0]["n"]


@pytest.mark.parametrize("scoring", ["likelihood", "generate"])
def test_run_fills_every_cell_and_summarises(ws, tiny_data, tiny_model, scoring):
    run_id = run_eval(ws, cfg(tiny_data, tiny_model, scoring=scoring, max_new_tokens=3))
    run = get_run(ws, run_id)
    assert run["status"] == "done" and run["done_cells"] == run["total_cells"] == 6 * 2
    board = leaderboard(ws, run_id)
    assert {e["name"] for e in board} == {"plain", "fewshot"}
    for e in board:
        assert KEYS <= set(e)
        assert e["n"] == 6 and e["ci_low"] <= e["score"] <= e["ci_high"]
        assert e["consistency"] is None
        assert e["cost_per_1k_usd"] > 0  # hourly cost 3.6 $/h x measured seconds
    cells = cells_frame(ws, run_id)
    if scoring == "likelihood":
        assert set(cells["parsed"]) <= {"yes", "no", "maybe"} and cells["error_kind"].isna().all()
    fs = cells[cells["variant"] == "fewshot"]
    assert (fs["input_tokens"] > cells[cells["variant"] == "plain"]["input_tokens"].max()).all()
    assert verdict(ws, run_id)["verdict"]
    m = matrix(ws, run_id)
    assert list(m.columns) == ["fewshot", "fewshot ✓", "plain", "plain ✓"] and len(m) == 6


def test_identical_cells_are_never_computed_twice(ws, tiny_data, tiny_model):
    first = run_eval(ws, cfg(tiny_data, tiny_model))
    n_cache = cache_rows(ws)
    assert n_cache == 12
    second = run_eval(ws, cfg(tiny_data, tiny_model))
    assert cache_rows(ws) == n_cache
    cells = cells_frame(ws, second)
    assert cells["cached"].all() and len(cells) == 12
    a, b = cells_frame(ws, first), cells
    assert list(a["output"]) == list(b["output"]) and list(a["score"]) == list(b["score"])


def test_stop_then_resume_finishes_without_recomputing(ws, tiny_data, tiny_model):
    c = cfg(tiny_data, tiny_model, scoring="generate", max_new_tokens=2)
    run_id = create_run(ws, c)
    calls = {"n": 0}

    def stop_after_first_chunk():
        calls["n"] += 1
        return calls["n"] > 1

    assert execute_run(ws, run_id, should_stop=stop_after_first_chunk, chunk=5) == "stopped"
    partial = cells_frame(ws, run_id)
    assert len(partial) == 5 and get_run(ws, run_id)["status"] == "stopped"
    progress = []
    assert execute_run(ws, run_id, progress=lambda d, t, e: progress.append((d, t)),
                       chunk=5) == "done"
    done = cells_frame(ws, run_id)
    assert len(done) == 12 and cache_rows(ws) == 12
    assert progress[0] == (5, 12) and progress[-1] == (12, 12)
    kept = done.merge(partial, on=["variant", "row_id", "sample"], suffixes=("", "_before"))
    assert (kept["output"] == kept["output_before"]).all()


def test_consistency_is_the_share_of_samples_matching_the_majority(ws, tiny_data, tiny_model):
    run_id = run_eval(ws, cfg(tiny_data, tiny_model, scoring="generate", samples=3,
                              temperature=1.5, max_new_tokens=2))
    cells = cells_frame(ws, run_id)
    assert len(cells) == 6 * 2 * 3
    rows = row_results(cells)
    for e in leaderboard(ws, run_id):
        r = rows[rows["variant"] == e["name"]]
        assert e["consistency"] == pytest.approx(r["agreement"].mean())
        assert 1 / 3 <= e["consistency"] <= 1
    # hand check one row: agreement = majority count / 3
    g = cells[(cells["variant"] == "plain") & (cells["row_id"] == cells["row_id"].iloc[0])]
    answers = [p if e is None else "(invalid)" for p, e in zip(g["parsed"], g["error_kind"],
                                                                strict=True)]
    top = max(answers.count(a) for a in answers)
    first = rows[(rows["variant"] == "plain") & (rows["row_id"] == g["row_id"].iloc[0])]
    assert first["agreement"].iloc[0] == pytest.approx(top / 3)


def test_bad_runs_are_refused_and_nothing_is_stored(ws, tiny_data, tiny_model):
    bad = [
        (dict(variants=[Variant(name="v", template="{nope}")]), "Unknown placeholder"),
        (dict(split="nosuch"), "unknown split"),
        (dict(models=["ghost"]), "Unknown model"),
    ]
    for change, needle in bad:
        c = cfg(tiny_data, tiny_model).model_copy(update=change)
        with pytest.raises(Exception, match=needle):
            create_run(ws, c)
    with pytest.raises(ValueError, match="temperature above 0"):
        cfg(tiny_data, tiny_model, samples=3)
    with pytest.raises(ValueError, match="Two variants"):
        EvalConfig(dataset=tiny_data, models=[tiny_model], variants=[V[0], V[0]])
    with pytest.raises(EvalError, match="not registered"):
        create_run(ws, cfg(tiny_data, tiny_model,
                           scorer={"kind": "judge", "judge_model": "nobody"}))
    assert list_runs(ws) == []


def test_dataset_without_split_is_refused(ws, tmp_path, tiny_model):
    from core.datasets import service

    p = tmp_path / "d.csv"
    p.write_text("text,label\n" + "\n".join(f"row {i},{'ab'[i % 2]}" for i in range(20)))
    service.import_file(ws, p, name="nosplit", input_col="text", target_col="label")
    with pytest.raises(EvalError, match="no splits yet"):
        create_run(ws, cfg("nosplit", tiny_model))


def test_cli_eval_json(ws, tiny_data, tiny_model, tmp_path, capsys):
    from core.cli import main
    from core.prompts.files import dump_prompts

    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts(V))
    code = main(["eval", "--data", tiny_data, "--model", tiny_model, "--prompts", str(prompts),
                 "--limit", "4", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert {v["name"] for v in data["variants"]} == {"plain", "fewshot"}
    for v in data["variants"]:
        assert KEYS <= set(v) and v["ci_low"] <= v["score"] <= v["ci_high"] and v["n"] == 4
    assert isinstance(data["verdict"], str)
    code = main(["eval", "--data", tiny_data, "--model", tiny_model, "--prompts",
                 str(tmp_path / "missing.yaml")])
    assert code == 1 and "does not exist" in capsys.readouterr().err


def test_evaluate_variant_on_explicit_rows_shares_the_cache(ws, tiny_data, tiny_model):
    from core.evals.rows import load_rows
    from core.evals.variant import evaluate_variant

    data = load_rows(ws, tiny_data, "test")
    res = evaluate_variant(ws, tiny_model, V[0], data.rows, task="classification",
                           labels=data.labels, train_rows=data.train_rows)
    assert len(res.cells) == len(data.rows) == res.summary["n"]
    assert res.summary["ci_low"] <= res.summary["score"] <= res.summary["ci_high"]
    n_cache = cache_rows(ws)
    run_id = run_eval(ws, cfg(tiny_data, tiny_model).model_copy(update={"variants": [V[0]]}))
    assert cache_rows(ws) == n_cache  # the run found every cell in the cache
    assert cells_frame(ws, run_id)["cached"].all()
    assert [c["score"] for c in res.cells] == list(cells_frame(ws, run_id)["score"])


def test_calibration_is_part_of_the_cell_identity(ws, tiny_data, tiny_model):
    from core.evals.engine import label_baseline
    from core.evals.rows import load_rows

    data = load_rows(ws, tiny_data, "test")
    base = label_baseline(ws, cfg(tiny_data, tiny_model), data, tiny_model, V[0])
    assert len(base) == 3 and all(math.isfinite(b) for b in base)
    on = run_eval(ws, cfg(tiny_data, tiny_model, scoring="likelihood"))
    off = run_eval(ws, cfg(tiny_data, tiny_model, scoring="likelihood", calibrate=False))
    a, b = cells_frame(ws, on), cells_frame(ws, off)
    assert set(a["cache_key"]).isdisjoint(b["cache_key"])
    assert not b["cached"].any()  # calibrated outputs were not reused for uncalibrated ones
