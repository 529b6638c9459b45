"""Deciding by money at stake (--value-correct / --cost-error), on hand-computed numbers."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.compare.decision import Requirements, decide
from core.evals.store import list_runs
from tests.compare.test_compare_cli import hosted, prompts, run  # noqa: F401  (fixtures)
from tests.compare.test_cost import BIG, TUNED
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)

# At 10,000 requests/month over 12 months:
#   big:   running 10,000 x 0.0016 = $16.00; tuned: 10,000 x 0.00001 + 60.72 / 12 = $5.16
# A correct answer is worth $0.05, an error costs $0.50:
#   big:   10,000 x (0.92 x 0.05 - 0.08 x 0.50) - 16.00 = 60 - 16 = 44.00
#   tuned: 10,000 x (0.90 x 0.05 - 0.10 x 0.50) - 5.16 = -50 - 5.16 = -55.16
VOLUME, VC, CE = 10_000, 0.05, 0.50
BIG_NET = VOLUME * (0.92 * VC - 0.08 * CE) - 16.0  # 44.00
TUNED_NET = VOLUME * (0.90 * VC - 0.10 * CE) - 5.16  # -55.16


def test_a_more_accurate_dearer_model_wins_when_errors_cost_money():
    by_cost = decide([BIG, TUNED], Requirements(VOLUME))
    assert by_cost.recommended.name == "tuned" and by_cost.record()["basis"] == "cost"
    assert by_cost.record()["value"] is None

    d = decide([BIG, TUNED], Requirements(VOLUME, value_correct=VC, cost_error=CE))
    rec = d.record()
    assert d.recommended.name == "big" and rec["basis"] == "value"
    v = {o["name"]: o for o in rec["value"]["options"]}
    assert rec["value"]["value_correct"] == VC and rec["value"]["cost_error"] == CE
    assert BIG_NET == pytest.approx(44.0) and TUNED_NET == pytest.approx(-55.16)
    assert v["big"]["net_value_month"] == pytest.approx(BIG_NET)
    assert v["tuned"]["net_value_month"] == pytest.approx(TUNED_NET)
    # the interval from the accuracy's interval: big 0.88..0.95, tuned 0.86..0.93
    assert v["big"]["net_value_ci"] == pytest.approx([-176.0, 209.0])
    assert v["tuned"]["net_value_ci"] == pytest.approx([
        VOLUME * (0.86 * VC - 0.14 * CE) - 5.16, VOLUME * (0.93 * VC - 0.07 * CE) - 5.16])
    # tuned would match big at (44 + 5.16 + 10,000 x 0.5) / (10,000 x 0.55) = 91.80%
    assert v["tuned"]["break_even_accuracy"] == pytest.approx(5049.16 / 5500, abs=1e-4)
    assert v["big"]["break_even_accuracy"] == pytest.approx(0.92, abs=1e-4)  # itself
    assert "highest expected net value" in rec["reason"] and "91.8%" in rec["reason"]


def test_when_a_correct_answer_is_worth_little_the_cheap_one_still_wins():
    d = decide([BIG, TUNED], Requirements(VOLUME, value_correct=0.001))
    # big: 10,000 x 0.92 x 0.001 - 16 = -6.8; tuned: 9.0 - 5.16 = 3.84
    assert d.recommended.name == "tuned"
    v = {o["name"]: o for o in d.value["options"]}
    assert v["tuned"]["net_value_month"] == pytest.approx(3.84)
    assert v["big"]["break_even_possible"] is False  # it would need more than 100%


def test_requirements_still_filter_and_negative_money_is_refused():
    d = decide([BIG, TUNED], Requirements(VOLUME, min_score=0.91, value_correct=0.0,
                                          cost_error=0.01))
    assert d.recommended.name == "big" and "tuned" in d.rejected
    for bad in ({"value_correct": -1.0}, {"cost_error": -0.01}, {"cost_error": float("nan")}):
        with pytest.raises(ValueError, match="zero or a positive amount"):
            Requirements(VOLUME, **bad)


def test_compare_and_report_take_the_money_at_stake(ws, tiny_data, tiny_model, hosted,  # noqa: F811
                                                    prompts, tmp_path, capsys):  # noqa: F811
    code, out, err = run(capsys, "compare", "--data", tiny_data, "--models", "tiny,big",
                         "--prompts", prompts, "--value-correct", "0.2", "--cost-error", "1",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["basis"] == "value" and data["decision"]["basis"] == "value"
    assert {o["name"] for o in data["value"]["options"]} == {"tiny", "big"}
    for o in data["value"]["options"]:
        assert {"name", "net_value_month", "net_value_ci", "break_even_accuracy"} <= set(o)
        lo, hi = o["net_value_ci"]
        assert lo <= o["net_value_month"] <= hi
    best = max(data["value"]["options"], key=lambda o: o["net_value_month"])
    assert data["recommendation"] == best["name"]
    code, text, _ = run(capsys, "compare", "--data", tiny_data, "--models", "tiny,big",
                        "--prompts", prompts, "--cost-error", "1")
    assert code == 0 and "Net value per month" in text
    md = tmp_path / "r.md"
    assert run(capsys, "report", "--data", tiny_data, "--out", str(md), "--value-correct",
               "0.2", "--cost-error", "1")[0] == 0
    assert "Expected net value per month" in md.read_text()
    assert run(capsys, "report", "--data", tiny_data, "--out", str(tmp_path / "p.md"))[0] == 0
    assert "Expected net value" not in (tmp_path / "p.md").read_text()  # as before


@pytest.mark.parametrize("cmd", ["compare", "report"])
def test_negative_money_is_a_usage_error(tiny_data, prompts, capsys, tmp_path, cmd):  # noqa: F811
    extra = (["--models", "tiny", "--prompts", prompts] if cmd == "compare"
             else ["--out", str(tmp_path / "r.md")])
    with pytest.raises(SystemExit) as e:
        main([cmd, "--data", tiny_data, *extra, "--cost-error", "-2"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "non-negative" in err and "Traceback" not in err
    assert not (tmp_path / "r.md").exists()


def test_no_run_is_made_for_bad_money(ws, tiny_data, prompts, capsys):  # noqa: F811
    with pytest.raises(SystemExit):
        main(["compare", "--data", tiny_data, "--models", "tiny", "--prompts", prompts,
              "--value-correct", "lots"])
    assert list_runs(ws) == []
