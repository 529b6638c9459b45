"""Several references per input: grouped into one row by load_rows, counted once, scored
against all of them through the engine, reported by the data report; bad scorer input is
refused before a run exists."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import datasets
from core.cli import main
from core.datasets import Mapping, quality_report
from core.evals.config import EvalConfig
from core.evals.engine import EvalError, create_run, run_eval
from core.evals.rows import load_rows, references
from core.evals.scorers import ScorerConfig
from core.evals.store import cells_frame
from core.evals.summary import leaderboard, scorer_choice
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_model  # noqa: F401  (fixture)

TRAIN = [(f"name[Shop {i}], food[Thai]", f"Shop {i} is a place that serves Thai food.")
         for i in range(12)]
TEST = [
    ("name[Aromi], eatType[coffee shop]", "Aromi is a coffee shop."),
    ("name[Zizzi], food[Italian]", "Zizzi serves Italian food."),
    ("name[Aromi], eatType[coffee shop]", "There is a coffee shop called Aromi."),
    ("name[Aromi], eatType[coffee shop]", "Aromi is a coffee shop. "),  # same ref, stripped
    ("name[Eagle], area[riverside]", "The Eagle is by the riverside."),
    ("  name[Zizzi], food[Italian]  ", "Italian food is served at Zizzi."),
]


@pytest.fixture
def e2e(ws, tmp_path):
    rows = ([(i, t, "train") for i, t in TRAIN] + [(i, t, "test") for i, t in TEST]
            + [("name[Wok], food[Chinese]", "Wok serves Chinese food.", "validation")])
    path = tmp_path / "e2e.csv"
    pd.DataFrame(rows, columns=["mr", "ref", "split"]).to_csv(path, index=False)
    datasets.import_file(ws, path, name="e2e", input_col="mr", target_col="ref",
                         task="free_text", split_col="split")
    return "e2e"


def test_load_rows_groups_the_references_of_one_input(ws, e2e):
    data = load_rows(ws, e2e, "test")
    assert [r["input"].strip() for r in data.rows] == [
        "name[Aromi], eatType[coffee shop]", "name[Zizzi], food[Italian]",
        "name[Eagle], area[riverside]"]
    aromi, zizzi, eagle = data.rows
    assert aromi["targets"] == ["Aromi is a coffee shop.", "There is a coffee shop called Aromi."]
    assert aromi["target"] == aromi["targets"][0] and aromi["row_id"] == 12  # the first row
    assert zizzi["targets"] == ["Zizzi serves Italian food.", "Italian food is served at Zizzi."]
    assert eagle["targets"] == ["The Eagle is by the riverside."]
    assert references(data.rows)[0] == aromi["targets"]
    # train rows stay one per line, each with its own target as the only reference
    assert len(data.train_rows) == 12
    assert all(r["targets"] == [r["target"]] for r in data.train_rows)
    # "all" groups within each split: 12 train + 1 validation + 3 test examples
    assert len(load_rows(ws, e2e, "all").rows) == 16
    # a limit samples examples, not lines: two examples, each with all its references
    two = load_rows(ws, e2e, "test", limit=2, seed=1).rows
    assert len(two) == 2
    assert all(r["targets"] == next(x for x in data.rows if x["row_id"] == r["row_id"])["targets"]
               for r in two)


def test_classification_rows_are_not_grouped(ws, tmp_path):
    body = "text,label,split\n" + "".join(f"row {i},{'ab'[i % 2]},train\n" for i in range(10))
    body += "same text,a,test\nsame text,b,test\nother,a,test\n"
    path = tmp_path / "c.csv"
    path.write_text(body)
    datasets.import_file(ws, path, name="c", input_col="text", target_col="label",
                         split_col="split")
    rows = load_rows(ws, "c", "test").rows
    assert [r["target"] for r in rows] == ["a", "b", "a"]
    assert all(r["targets"] == [r["target"]] for r in rows)


def test_quality_report_counts_inputs_with_several_references():
    frame = pd.DataFrame({"mr": [i for i, _ in TEST] + ["solo"],
                          "ref": [t for _, t in TEST] + ["x"]})
    rng = np.random.default_rng(0)

    def embed(texts):
        v = rng.normal(size=(len(texts), 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    rep = quality_report(frame, Mapping(input_col="mr", target_col="ref", task="free_text"),
                         embed_fn=embed)
    assert rep["multi_reference_inputs"] == 2 and rep["max_references"] == 2
    assert rep["conflicting_labels"] == 0  # references of free text are not conflicts
    [f] = [f for f in rep["findings"] if f["check"] == "multi_reference_inputs"]
    assert f["severity"] == "info" and f["count"] == 2 and "Up to 2 references" in f["message"]
    cls = quality_report(frame.assign(ref=["a", "b", "b", "a", "a", "a", "a"]),
                         Mapping(input_col="mr", target_col="ref", task="classification"),
                         embed_fn=embed)
    assert cls["multi_reference_inputs"] == 0 and cls["conflicting_labels"] == 2


def test_engine_scores_each_input_once_against_all_references(ws, e2e, tiny_model):  # noqa: F811
    cfg = EvalConfig(dataset=e2e, models=[tiny_model], max_new_tokens=6,
                     variants=[Variant(name="v", template="Describe: {input}")])
    run_id = run_eval(ws, cfg)
    cells = cells_frame(ws, run_id)
    assert len(cells) == 3 and sorted(cells["row_id"]) == [12, 13, 16]
    assert cells["score"].between(0, 1).all()
    choice = scorer_choice(ws, run_id)
    assert choice["scorer"] == "chrf" and choice["direction"] == "max"
    assert choice["scorer_reason"].startswith("auto chose chrf: the targets are running text")
    [e] = leaderboard(ws, run_id)
    assert set(e["corpus"]) == {"corpus_chrf", "corpus_bleu"}
    assert set(e["beside"]) == {"rouge_l"} and 0 <= e["beside"]["rouge_l"] <= 1
    # the scores are the registry's chrF against every reference of the row
    from core.evals import scorers as sc

    data = {r["row_id"]: r for r in load_rows(ws, e2e, "test").rows}
    cells = cells.sort_values("row_id")
    again = sc.score_outputs("chrf", list(cells["output"]),
                             [data[i]["targets"] for i in cells["row_id"]], config=cfg.scorer)
    assert list(cells["score"]) == pytest.approx([s.score for s in again])


def test_bad_scorer_input_is_refused_before_a_run_exists(ws, e2e, tiny_model, capsys):  # noqa: F811
    before = ws.db.query("SELECT COUNT(*) AS n FROM eval_runs")[0]["n"]
    cfg = EvalConfig(dataset=e2e, models=[tiny_model], scorer=ScorerConfig(kind="json_fields"),
                     variants=[Variant(name="v", template="{input}")])
    with pytest.raises(EvalError, match=r"^5 of 5 targets are not JSON objects"):
        create_run(ws, cfg)
    assert ws.db.query("SELECT COUNT(*) AS n FROM eval_runs")[0]["n"] == before
    with pytest.raises(SystemExit) as ex:
        main(["eval", "--data", e2e, "--model", tiny_model, "--prompts", "p.yaml",
              "--scorer", "vibes"])
    err = capsys.readouterr().err
    assert ex.value.code == 2 and "invalid choice: 'vibes'" in err and "chrf" in err
    assert len(err.strip().splitlines()) == 1


def test_eval_json_says_which_scorer_auto_chose(ws, e2e, tiny_model, tmp_path,  # noqa: F811
                                                capsys):
    prompts = tmp_path / "p.yaml"
    prompts.write_text("variants:\n  - name: v\n    template: 'Describe: {input}'\n")
    assert main(["eval", "--data", e2e, "--model", tiny_model, "--prompts", str(prompts),
                 "--max-new-tokens", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scorer"] == "chrf" and "ROUGE-L" in out["scorer_reason"]
    assert out["variants"][0]["corpus"]["corpus_bleu"] >= 0
