"""A real OpenAI-compatible server: llama-cpp-python's, on the packaged SmolLM2 GGUF.

Run with `make test-server`: it installs llama-cpp-python[server] into its own venv
once and points LADDER_LLAMA_SERVER_PYTHON at it. The server listens on 127.0.0.1
only, every wait is bounded, and the server is stopped in a `finally`.

The model is registered with `ladder models add --base-url`, evaluated with
`ladder eval` and compared with the local model with `ladder compare`. Each cell's
tokens must be the server's own usage numbers (checked by sending the same request
again, independently of the backend), its cost those tokens x the prices, and its
latency the measured time of the request.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from core.cli import main
from core.datasets import load_sample
from core.evals.config import EvalConfig
from core.evals.engine import build_prompts
from core.evals.generation import generation_params, model_context
from core.evals.rows import load_rows
from core.evals.store import cells_frame, get_run
from core.models.packaged import locate_gguf
from core.prompts.files import dump_prompts, load_prompts
from tests.conftest import ROOT
from tests.server.llama import ServerError, llama_server

pytestmark = pytest.mark.server

PRICE_IN, PRICE_OUT = 0.5, 1.5  # USD per 1M tokens, made up for the test
LIMIT = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("gguf")
    try:
        with llama_server(locate_gguf("smollm2-135m-instruct", scratch), "smollm2",
                          scratch) as url:
            yield url
    except ServerError as e:
        pytest.fail(str(e))


def _ladder(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _server_usage(url: str, prompt, params) -> dict:
    """What the server itself reports for one prompt (a plain request, no backend code)."""
    body = {"model": "smollm2", "messages": prompt.messages(), "max_tokens": params.max_new_tokens,
            "temperature": params.temperature, "top_p": params.top_p,
            "stop": list(params.stop)}
    r = httpx.post(f"{url}/chat/completions", json=body, timeout=60)
    r.raise_for_status()
    data = r.json()
    return {"text": data["choices"][0]["message"]["content"], **data["usage"]}


def _check_cells_against_server(ws, url: str, run_id: int, model: str) -> None:
    run = get_run(ws, run_id)
    cfg = EvalConfig.model_validate(run["config"])
    data = load_rows(ws, cfg.dataset, cfg.split, limit=cfg.limit, seed=cfg.seed)
    variant = next(v for v in cfg.variants if (model, v.name) in cfg.combos())
    prompts = build_prompts(ws, cfg, data, variant)
    cells = cells_frame(ws, run_id)
    cells = cells[cells["model_id"] == model].set_index("row_id")
    assert len(cells) == len(data.rows) == LIMIT
    for row, prompt in zip(data.rows, prompts, strict=True):
        cell = cells.loc[row["row_id"]]
        usage = _server_usage(url, prompt, generation_params(
            cfg, data, variant, 0, context=model_context(ws, model)))
        assert cell["input_tokens"] == usage["prompt_tokens"]
        assert cell["output_tokens"] == usage["completion_tokens"]
        assert cell["output"] == usage["text"].strip()
        expected = (usage["prompt_tokens"] * PRICE_IN + usage["completion_tokens"] * PRICE_OUT) / 1e6
        assert cell["cost_usd"] == pytest.approx(expected, rel=1e-12)
        assert cell["latency_s"] > 0


def test_llama_cpp_server_end_to_end(ws, server, tmp_path, capsys):
    load_sample(ws)
    prompts = tmp_path / "prompts.yaml"
    zero_shot = [v for v in load_prompts(ROOT / "examples" / "prompts.yaml")
                 if v.name == "zero-shot"]
    prompts.write_text(dump_prompts(zero_shot))

    code, out, err = _ladder(capsys, "models", "add", "llama-server", "--base-url", server,
                             "--remote-model", "smollm2", "--price-in", str(PRICE_IN),
                             "--price-out", str(PRICE_OUT), "--json")
    assert code == 0, err  # the registration sent a real test request first
    assert json.loads(out)["kind"] == "openai"

    code, out, err = _ladder(capsys, "models", "test", "llama-server", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["input_tokens"] > 0 and answer["output_tokens"] > 0
    assert answer["cost_usd"] == pytest.approx(
        (answer["input_tokens"] * PRICE_IN + answer["output_tokens"] * PRICE_OUT) / 1e6)

    t0 = time.perf_counter()
    code, out, err = _ladder(capsys, "eval", "--data", "support-tickets", "--model",
                             "llama-server", "--prompts", str(prompts), "--limit", str(LIMIT),
                             "--json")
    wall = time.perf_counter() - t0
    assert code == 0, err
    res = json.loads(out)
    [v] = res["variants"]
    assert v["n"] == LIMIT and v["invalid_rate"] < 1
    _check_cells_against_server(ws, server, res["run_id"], "llama-server")
    cells = cells_frame(ws, res["run_id"])
    assert cells["latency_s"].sum() <= wall  # one request at a time: latencies fit in the run

    # four requests at once: the server queues them; every answer and count is the same
    code, _, err = _ladder(capsys, "models", "add", "llama-server-x4", "--base-url", server,
                           "--remote-model", "smollm2", "--price-in", str(PRICE_IN),
                           "--price-out", str(PRICE_OUT), "--concurrency", "4", "--no-verify")
    assert code == 0, err
    code, out, err = _ladder(capsys, "eval", "--data", "support-tickets", "--model",
                             "llama-server-x4", "--prompts", str(prompts), "--limit", str(LIMIT),
                             "--json")
    assert code == 0, err
    par = cells_frame(ws, json.loads(out)["run_id"]).set_index("row_id")
    one = cells.set_index("row_id")
    for col in ("output", "input_tokens", "output_tokens", "cost_usd"):
        assert par[col].to_dict() == one[col].to_dict(), col

    code, out, err = _ladder(capsys, "compare", "--data", "support-tickets", "--models",
                             "llama-server,smollm2-135m-instruct", "--prompts", str(prompts),
                             "--limit", str(LIMIT), "--json")
    assert code == 0, err
    comp = json.loads(out)
    by = {m["model"]: m for m in comp["models"]}
    assert set(by) == {"llama-server", "smollm2-135m-instruct"}
    assert by["llama-server"]["n"] == by["smollm2-135m-instruct"]["n"] == LIMIT
    cells = cells_frame(ws, comp["run_id"])
    srv = cells[cells["model_id"] == "llama-server"]
    assert srv["cached"].all()  # the same requests as the eval: read back, not sent again
    assert by["llama-server"]["cost_per_1k_usd"] == pytest.approx(srv["cost_usd"].mean() * 1000)
    assert by["llama-server"]["input_tokens_mean"] == pytest.approx(srv["input_tokens"].mean())
    _check_cells_against_server(ws, server, comp["run_id"], "llama-server")
    # the server applies the chat template of the GGUF file; the local model the one
    # transformers read from the same file: the same prompt is the same number of tokens
    local = cells[cells["model_id"] == "smollm2-135m-instruct"].set_index("row_id")
    assert srv.set_index("row_id")["input_tokens"].to_dict() == local["input_tokens"].to_dict()
    assert comp["decision"]["reason"]
