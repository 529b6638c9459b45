"""`ladder models ...` and `ladder generate`: JSON output, and errors as one line without traceback."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from core.cli import main
from tests.conftest import LADDER, ROOT
from tests.fake_openai import FakeOpenAIServer


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_list_json_has_both_packaged_models(capsys):
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    ids = {m["id"]: m for m in json.loads(out)["models"]}
    assert {"smollm2-135m-instruct", "gemma3-270m"} <= set(ids)
    assert ids["gemma3-270m"]["kind"] == "packaged" and ids["gemma3-270m"]["local"]


def test_add_endpoint_then_generate_json(capsys, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-cli-secret")
    with FakeOpenAIServer(require_key="sk-cli-secret") as srv:
        code, out, err = run(capsys, "models", "add", "fake", "--base-url", srv.url,
                             "--remote-model", "fake-model", "--key-env", "FAKE_KEY",
                             "--price-in", "1", "--price-out", "2", "--json")
        assert code == 0, err
        assert json.loads(out)["base_url"] == srv.url
        code, out, err = run(capsys, "generate", "--model", "fake", "--json", "hello there")
    assert code == 0, err
    data = json.loads(out)
    assert data["text"] == "echo: hello there"
    assert data["input_tokens"] > 0 and data["output_tokens"] > 0
    expected = (data["input_tokens"] * 1 + data["output_tokens"] * 2) / 1e6
    assert data["cost_usd"] == pytest.approx(expected)
    assert "sk-cli-secret" not in out + err


@pytest.mark.parametrize("argv,needle", [
    (["generate", "--model", "nope", "hi"], "Unknown model 'nope'"),
    (["models", "add", "x", "--base-url", "ftp://h", "--remote-model", "m",
      "--price-in", "1", "--price-out", "1"], "http"),
    (["models", "add", "x", "--base-url", "http://127.0.0.1:9/v1", "--remote-model", "m"],
     "both prices"),
    (["models", "add", "x", "--hf", "a/b"], "hourly hardware cost"),
    (["models", "add", "smollm2-135m-instruct", "--hf", "a/b", "--hourly-cost", "1"],
     "already registered"),
    (["models", "add", "x", "--base-url", "http://127.0.0.1:9/v1", "--remote-model", "m",
      "--key-env", "SURELY_UNSET_VAR", "--price-in", "1", "--price-out", "1"], "SURELY_UNSET_VAR"),
    (["models", "remove", "gemma3-270m"], "built in"),
    (["generate", "--model", "smollm2-135m-instruct", "   "], "prompt is empty"),
])
def test_bad_input_is_one_message(capsys, argv, needle):
    before = run(capsys, "models", "list", "--json")[1]
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert needle in err and "Traceback" not in err
    assert run(capsys, "models", "list", "--json")[1] == before


@pytest.mark.parametrize("argv", [
    ["models", "add", "x", "--hf", "a/b", "--hourly-cost", "-3"],
    ["models", "add", "x", "--hf", "a/b", "--hourly-cost", "cheap"],
    ["generate", "--model", "m", "--max-new-tokens", "0", "hi"],
    ["models", "frobnicate"],
])
def test_bad_flags_exit_2_with_usage_hint(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "ladder" in err and "--help" in err and "Traceback" not in err


def test_unreachable_endpoint_via_subprocess_has_no_traceback(tmp_path):
    with FakeOpenAIServer() as srv:
        port = srv.port
    env = dict(os.environ)
    proc = subprocess.run(
        [*LADDER, "models", "add", "gone", "--base-url",
         f"http://127.0.0.1:{port}/v1", "--remote-model", "m", "--price-in", "1",
         "--price-out", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and str(port) in proc.stderr
