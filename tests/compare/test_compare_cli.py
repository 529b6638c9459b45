"""`ladder compare` and `ladder report` on a tiny local model and a fake hosted endpoint."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.evals.store import cells_frame, list_runs
from core.models.registry import build_spec
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)
from tests.fake_openai import FakeOpenAIServer

KEYS = {"model", "score", "ci_low", "ci_high", "latency_p50_ms", "latency_p95_ms",
        "cost_per_1k_usd"}


@pytest.fixture
def prompts(tmp_path):
    p = tmp_path / "prompts.yaml"
    p.write_text(dump_prompts([Variant(name="short", template="{input}"),
                               Variant(name="long", template="{examples} {input}", few_shot=2,
                                       example_template="{input} {target}")]))
    return str(p)


@pytest.fixture
def hosted(ws):
    with FakeOpenAIServer() as srv:
        ws.registry.add(build_spec(id="big", kind="openai", source="fake-model",
                                   base_url=srv.url, price_in_per_m=2.5, price_out_per_m=10.0))
        yield srv


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_json(ws, tiny_data, tiny_model, hosted, prompts, capsys):  # noqa: F811
    code, out, err = run(capsys, "compare", "--data", tiny_data, "--models", "tiny,big",
                         "--prompts", prompts, "--variant-for", "big=long", "--volume", "50000",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {m["model"] for m in data["models"]} == {"tiny", "big"}
    for m in data["models"]:
        assert KEYS <= set(m) and m["ci_low"] <= m["score"] <= m["ci_high"]
    by = {m["model"]: m for m in data["models"]}
    assert by["big"]["variant"] == "long" and by["tiny"]["variant"] == "short"
    # hosted cost = tokens x price, measured from the fake server's usage
    cells = cells_frame(ws, data["run_id"])
    big = cells[cells["model_id"] == "big"]
    expected = ((big["input_tokens"] * 2.5 + big["output_tokens"] * 10) / 1e6).mean() * 1000
    assert by["big"]["cost_per_1k_usd"] == pytest.approx(expected)
    assert "recommendation" in data and "break_even_requests_per_month" in data
    assert data["decision"]["monthly_costs_usd"]["big"] == pytest.approx(
        50_000 * by["big"]["cost_per_1k_usd"] / 1000)


def test_endpoint_failing_halfway_keeps_finished_cells(ws, tiny_data, tiny_model, hosted,  # noqa: F811
                                                       prompts, capsys):
    for _ in range(3):
        hosted.enqueue(200, {"choices": [{"message": {"content": "yes"}, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 5, "completion_tokens": 1}})
    for _ in range(20):
        hosted.enqueue(401, {"error": {"message": "key revoked"}})
    code, out, err = run(capsys, "compare", "--data", tiny_data, "--models", "tiny,big",
                         "--prompts", prompts, "--json")
    assert code == 1
    data = json.loads(out)
    assert "big" in data["errors"] and "tiny" not in data["errors"]
    [r] = list_runs(ws)
    cells = cells_frame(ws, r["id"])
    assert (cells["model_id"] == "tiny").sum() == 6  # every local cell kept
    assert {m["model"] for m in data["models"]} >= {"tiny"}


@pytest.mark.parametrize("argv,needle", [
    (["--models", " , "], "--models is empty"),
    (["--models", "tiny,ghost"], "Unknown model 'ghost'"),
    (["--models", "tiny", "--variant-for", "tiny"], "MODEL=VARIANT"),
    (["--models", "tiny", "--variant", "nope"], "no variant 'nope'"),
    (["--models", "tiny", "--min-score", "5"], "between 0 and 1"),
])
def test_compare_bad_input(ws, tiny_data, tiny_model, prompts, capsys, argv, needle):  # noqa: F811
    code, _, err = run(capsys, "compare", "--data", tiny_data, "--prompts", prompts, *argv)
    assert code == 1 and needle in err and "Traceback" not in err
    assert list_runs(ws) == []


@pytest.mark.parametrize("volume", ["0", "-10", "lots"])
def test_volume_must_be_positive(tiny_data, prompts, capsys, volume):  # noqa: F811
    with pytest.raises(SystemExit) as e:
        main(["compare", "--data", tiny_data, "--models", "tiny", "--prompts", prompts,
              "--volume", volume])
    err = capsys.readouterr().err
    assert e.value.code == 2 and ("positive" in err or "not a number" in err)


def test_report_markdown_and_html(ws, tiny_data, tiny_model, hosted, prompts, tmp_path,  # noqa: F811
                                  capsys, monkeypatch):
    monkeypatch.setenv("SECRET_KEY_VAR", "sk-report-secret")
    assert run(capsys, "compare", "--data", tiny_data, "--models", "tiny,big", "--prompts",
               prompts)[0] == 0
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    assert run(capsys, "report", "--data", tiny_data, "--out", str(md))[0] == 0
    assert run(capsys, "report", "--data", tiny_data, "--out", str(page))[0] == 0
    text = md.read_text()
    assert "# Tuning Ladder decision report: tiny" in text and "## 3 · Model comparison" in text
    assert "| big |" in text and "Recommendation" in text
    html = page.read_text()
    assert "<table>" in html and "Plotly.newPlot" in html
    assert "<script src=" not in html  # plotly.js is inline: the file opens offline
    assert "sk-report-secret" not in html + text
    code, _, err = run(capsys, "report", "--data", tiny_data, "--out", str(tmp_path / "r.pdf"))
    assert code == 1 and ".md or .html" in err


def test_commands_that_computed_nothing_exit_non_zero(ws, tiny_data, prompts, capsys):  # noqa: F811
    """An unreachable endpoint: `eval` said 'variants: []' and exited 0; `compare` said
    'unexpected error: ValueError: no options to compare'."""
    ws.registry.add(build_spec(id="gone", kind="openai", source="m",
                               base_url="http://127.0.0.1:9/v1", price_in_per_m=0,
                               price_out_per_m=0))
    code, out, err = run(capsys, "eval", "--data", tiny_data, "--model", "gone", "--prompts",
                         prompts, "--json")
    assert code == 1 and out == ""
    assert "computed no cell: gone: Gave up after" in err and "Could not reach" in err
    with FakeOpenAIServer() as srv:
        for _ in range(10):
            srv.enqueue(401, {"error": {"message": "key revoked"}})
        ws.registry.add(build_spec(id="revoked", kind="openai", source="m", base_url=srv.url,
                                   price_in_per_m=0, price_out_per_m=0))
        code, out, err = run(capsys, "compare", "--data", tiny_data, "--models", "revoked",
                             "--prompts", prompts)
    assert code == 1 and "nothing to compare: run #" in err and "unexpected" not in err


def test_a_run_where_some_cells_failed_says_how_many(ws, tiny_data, hosted, prompts,  # noqa: F811
                                                     capsys):
    """An endpoint's cells go out in chunks of 32: the first chunk answers, then the key is
    revoked; the 60-cell run keeps 32 and says that 28 failed, and why."""
    for _ in range(32):
        hosted.enqueue(200, {"choices": [{"message": {"content": "yes"}, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 5, "completion_tokens": 1}})
    for _ in range(40):
        hosted.enqueue(401, {"error": {"message": "key revoked"}})
    code, out, err = run(capsys, "eval", "--data", tiny_data, "--split", "all", "--model", "big",
                         "--prompts", prompts, "--json")
    assert code == 1, err
    data = json.loads(out)
    assert data["failed_cells"] == 28 and "big" in data["model_errors"]
    assert sum(v["n"] for v in data["variants"]) == 32
    assert "28 of 60 cells failed: big: The API key was rejected" in err
