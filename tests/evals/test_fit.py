"""Prompts longer than the model's context are refused before a run, or cut and marked
with --truncate (core.evals.fit); the tiny local model has a 128-token context."""

from __future__ import annotations

import csv
import json

import pytest

from core.cli import main
from core.evals.fit import Limit, cut_text, fit
from core.evals.store import list_runs
from core.models.base import ChatPrompt

LONG = " ".join(["the sky is blue"] * 60)  # 240 words: far past 128 tokens


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def imported(ws, path, name: str, texts: list[str]) -> str:
    """A classification dataset of `texts`, labelled no/yes in turn."""
    from core.datasets import service

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows([t, "yes" if i % 2 else "no"] for i, t in enumerate(texts))
    service.import_file(ws, path, name=name, input_col="text", target_col="label",
                        task="classification")
    return name


@pytest.fixture
def long_data(ws, tmp_path):
    """12 short rows, then one (row 12) far past the tiny model's 128 tokens."""
    return imported(ws, tmp_path / "long.csv", "long",
                    [f"a cat is red {i}" for i in range(12)] + [LONG])


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("variants:\n  - name: plain\n    template: \"Text: {input}\\nLabel:\"\n")
    return str(path)


def test_cut_text_keeps_the_side_asked_for():
    from core.datasets.tokens import pick_tokenizer

    tok = pick_tokenizer(None)[1]
    assert cut_text("alpha beta gamma delta", 1, "tail", tok) == "alpha beta gamma"
    assert cut_text("alpha beta gamma delta", 1, "head", tok) == "beta gamma delta"
    assert cut_text("alpha beta", 5, "tail", tok) == ""


def test_fit_refuses_or_cuts_against_the_tightest_model():
    from core.datasets.tokens import pick_tokenizer

    tok = pick_tokenizer(None)[1]
    rows = [{"row_id": 0, "input": "short one", "target": "x"},
            {"row_id": 7, "input": LONG, "target": "x"}]
    render = lambda i, r: ChatPrompt(f"Text: {r['input']}")  # noqa: E731
    prompts = [render(i, r) for i, r in enumerate(rows)]
    wide, narrow = Limit("wide", 4096, 24, tok, True), Limit("narrow", 128, 24, tok, True)
    assert fit(prompts, rows, [wide], None, render).cut == []
    with pytest.raises(Exception, match=r"1 row do not fit narrow's context of 128 tokens.*"
                                        r"row 7.*--truncate tail"):
        fit(prompts, rows, [wide, narrow], None, render)
    out = fit(prompts, rows, [wide, narrow], "tail", render)
    assert out.cut == [7] and out.prompts[0] == prompts[0]
    assert out.prompts[1].user.startswith("Text: the sky is blue")
    assert len(out.prompts[1].user) < len(prompts[1].user)


def test_eval_refuses_a_row_past_the_context_and_stores_nothing(ws, long_data, tiny_model,
                                                                 prompts, capsys):
    code, out, err = run(capsys, "eval", "--data", "long", "--split", "all", "--model", "tiny",
                         "--prompts", prompts)
    assert code == 1 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert "1 row do not fit tiny's context of 128 tokens" in line and "--truncate" in line
    assert "row 12" in line
    assert list_runs(ws) == []


def test_eval_with_truncate_cuts_and_marks_the_row(ws, long_data, tiny_model, prompts, capsys):
    from core.evals.store import cells_frame

    code, out, err = run(capsys, "eval", "--data", "long", "--split", "all", "--model", "tiny",
                         "--prompts", prompts, "--truncate", "tail", "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["truncated_rows"] == [12]
    cells = cells_frame(ws, rec["run_id"])
    assert len(cells) == 13
    assert int(cells.loc[cells.row_id == 12, "input_tokens"].iloc[0]) <= 128 - 24
    code, out, err = run(capsys, "eval", "--data", "long", "--split", "all", "--model", "tiny",
                         "--prompts", prompts, "--truncate", "head")
    assert code == 0 and "1 rows had their input cut (head)" in out


def test_compare_refuses_too(ws, long_data, tiny_model, prompts, capsys):
    code, out, err = run(capsys, "compare", "--data", "long", "--split", "all", "--models",
                         "tiny", "--prompts", prompts)
    assert code == 1 and "do not fit tiny's context" in err and "Traceback" not in err


def test_the_prompt_lab_refuses_then_cuts_and_lists_the_rows(ws, tmp_path, tiny_model):
    from core.datasets import service
    from core.prompts import store as pstore
    from core.prompts.variants import Variant
    from tests.conftest import open_app, wait_for_eval_run

    imported(ws, tmp_path / "all_long.csv", "all_long", [f"{LONG} {i}" for i in range(20)])
    service.split(ws, "all_long", val=0.2, test=0.2, seed=0)
    pstore.save_variant(ws, pstore.dataset_set(ws, "all_long"),
                        Variant(name="plain", template="Text: {input}\nLabel:"))
    at = open_app("views/prompt_lab.py")
    at.selectbox(key="pl_model").set_value(tiny_model)
    at.button(key="pl_run").click().run()
    assert any("Not started" in e.value and "do not fit tiny's context" in e.value
               for e in at.error)
    assert list_runs(ws) == []
    at.selectbox(key="pl_truncate").set_value("cut their end")
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    [run] = list_runs(ws)
    assert wait_for_eval_run(ws, run["id"]) == "done"
    at.run()
    assert any("rows had their input cut (its end)" in c.value for c in at.caption)
