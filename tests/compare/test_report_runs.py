"""The report and the home page pick the right run for each rung, and the data section tells the
quality history of the version's ancestors."""

from __future__ import annotations

import numpy as np

from core import datasets
from core.datasets.versions import save_report
from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.prompts.variants import Variant
from core.report.export import markdown
from core.report.summary import ladder_summary
from tests.conftest import open_app
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)
from tests.evals.test_purpose import fine_tuned
from views.common import rung_status

V = [Variant(name="short", template="{input}"),
     Variant(name="long", template="Text: {input}\nLabel ({labels}):"),
     Variant(name="plain", template="{input}\nAnswer:")]


def test_prompt_lab_section_is_the_latest_run_that_compared_variants(
        ws, tiny_data, tiny_model):  # noqa: F811
    tuned = fine_tuned(ws)
    check = run_eval(ws, EvalConfig(dataset=tiny_data, models=[tuned], variants=V[:1]))
    s = ladder_summary(ws, tiny_data)
    assert s["prompt_lab"] is None  # a fine-tuned model's check is not a Prompt Lab run
    assert rung_status(s)[0] == (False, "Compare prompt variants on your data.")

    lab = run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], variants=V))
    run_eval(ws, EvalConfig(dataset=tiny_data, models=[tuned], variants=V[:1]))  # later checks
    run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], variants=V[1:2]))
    s = ladder_summary(ws, tiny_data)
    pl = s["prompt_lab"]
    assert (pl["run_id"], pl["model"], pl["purpose"]) == (lab, tiny_model, "prompt_lab")
    assert {e["name"] for e in pl["variants"]} == {"short", "long", "plain"}
    assert pl["run_id"] != check
    done, text = rung_status(s)[0]
    assert done and f"on `{tiny_model}`" in text and pl["best"]["name"] in text
    md = markdown(s)
    assert f"Run #{lab} compared 3 variants on model `{tiny_model}`" in md
    assert tuned not in md.split("## 1 · Prompt Lab")[1].split("## 2")[0]

    at = open_app("views/home.py")
    cards = " ".join(m.value for m in at.markdown)
    assert f"on `{tiny_model}`" in cards and tuned not in cards


# (input, label): q1 is a conflict (A, A, B), q2 a tie, q3 duplicated exactly
ROWS = [("q1", "A"), ("q1", "A"), ("q1", "B"), ("q2", "A"), ("q2", "B"), ("q3", "B"),
        ("q3", "B"), ("q4", "A"), ("q5", "B"), ("q6", "A")]


def _onehot(texts: list[str]) -> np.ndarray:
    return np.eye(len(texts), dtype=np.float32)


def test_data_section_tells_the_ancestors_quality_history(ws, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in ROWS))
    datasets.import_file(ws, path, name="c", input_col="text", target_col="label",
                         task="classification")
    v1 = datasets.get_version(ws, "c")
    rep = datasets.quality_report(datasets.load_frame(ws, v1), v1.mapping, embed_fn=_onehot)
    save_report(ws, v1, rep)
    v2 = datasets.fix(ws, "c", resolve_conflicts="majority").version
    v3 = datasets.fix(ws, "c", drop_duplicates=True).version
    assert (v2.number, v3.number) == (2, 3)

    d = ladder_summary(ws, "c")["data"]
    assert d["version"] == 3 and d["quality"] is None  # the fixed version has no report yet
    h = d["history"]
    assert [x["version"] for x in h] == [1, 2, 3]
    assert h[0]["quality"]["conflicting_labels"] == rep["conflicting_labels"] > 0
    assert h[0]["change"] is None and h[0]["rows"] == len(ROWS)
    assert "conflicting" in h[1]["change"] and h[1]["rows_removed"] == len(ROWS) - v2.rows
    assert "duplicates" in h[2]["change"] and h[2]["rows_removed"] == v2.rows - v3.rows > 0
    assert h[1]["quality"] is None and h[2]["quality"] is None

    md = markdown(ladder_summary(ws, "c"))
    data = md.split("## Data quality")[1].split("## 1")[0]
    assert "No quality report computed yet" not in data
    assert "Version 1's report" in data and "Quality history" in data
    first = next(line for line in data.splitlines() if line.startswith("| 1 |"))
    assert first.startswith(f"| 1 | {len(ROWS)} | imported")
    assert first.split(" | ")[3] == str(rep["conflicting_labels"])
    assert "no report" in next(line for line in data.splitlines() if line.startswith("| 3 |"))

    # once the fixed version has its own report, it is shown, and the history stays
    v3_rep = datasets.quality_report(datasets.load_frame(ws, v3), v3.mapping, embed_fn=_onehot)
    save_report(ws, v3, v3_rep)
    d = ladder_summary(ws, "c")["data"]
    assert d["quality"]["conflicting_labels"] == 0 and len(d["history"]) == 3
