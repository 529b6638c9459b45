"""Tests for the OpenAI-compatible HTTP backend, against a local fake server."""

from __future__ import annotations

import socket
import time

import pytest

from core.models import openai_compat
from core.models.base import ChatPrompt, GenerationParams, ModelError
from core.models.openai_compat import OpenAICompatBackend, validate_base_url
from tests.fake_openai import FakeOpenAIServer, echo_completion

KEY_ENV = "LADDER_TEST_KEY"
SECRET = "sk-very-secret-123"
PARAMS = GenerationParams(max_new_tokens=32)


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


def backend(srv: FakeOpenAIServer, **kw) -> OpenAICompatBackend:
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("timeout_s", 5.0)
    return OpenAICompatBackend(srv.url, "fake-model", **kw)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ base URL


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("  HTTPS://host/proxy/v1  ", "https://host/proxy/v1"),
    ],
)
def test_base_url_normalised(url, expected):
    assert validate_base_url(url) == expected


@pytest.mark.parametrize("url", ["", "   ", "ftp://x", "localhost:8000", "http://", "http://h:99x"])
def test_base_url_malformed(url):
    with pytest.raises(ModelError) as e:
        validate_base_url(url)
    assert "http://127.0.0.1:8000/v1" in str(e.value)


# ------------------------------------------------------------------ happy path


def test_request_shape_and_usage(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    params = GenerationParams(max_new_tokens=7, temperature=0.5, top_p=0.9, seed=3, stop=("##",))
    prompt = ChatPrompt(user="hello there world", system="be brief")
    [gen] = backend(server, api_key_env=KEY_ENV).generate([prompt], params)
    assert gen.text == "echo: hello there world"
    assert (gen.input_tokens, gen.output_tokens) == (5, 4)
    assert gen.finish_reason == "stop"
    assert gen.latency_s > 0
    assert "tokens_estimated" not in gen.extra
    req = server.requests[0]
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    assert req.body == {
        "model": "fake-model",
        "messages": prompt.messages(),
        "max_tokens": 7,
        "temperature": 0.5,
        "top_p": 0.9,
        "seed": 3,
        "stop": ["##"],
    }


def test_no_key_no_auth_header_and_optional_fields_omitted(server):
    backend(server).generate([ChatPrompt("hi")], PARAMS)
    req = server.requests[0]
    assert "authorization" not in req.headers
    assert "seed" not in req.body and "stop" not in req.body


def test_explicit_api_key(server):
    server.require_key = SECRET
    [gen] = backend(server, api_key=SECRET).generate([ChatPrompt("hi")], PARAMS)
    assert gen.text == "echo: hi"


def test_key_from_secrets_toml(server, monkeypatch, tmp_path):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'{KEY_ENV} = "{SECRET}"\n')
    backend(server, api_key_env=KEY_ENV).generate([ChatPrompt("hi")], PARAMS)
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_progress_callback(server):
    seen: list[int] = []
    prompts = [ChatPrompt(str(i)) for i in range(5)]
    backend(server).generate(prompts, PARAMS, batch_size=2, on_batch=seen.append)
    assert seen == [1] * 5


def test_finish_reason_from_response(server):
    [gen] = backend(server).generate([ChatPrompt("a b c d e")], GenerationParams(max_new_tokens=2))
    assert gen.text == "echo: a"
    assert gen.finish_reason == "length"


def test_order_preserved_with_concurrency(server):
    server.delay_s = 0.02
    prompts = [ChatPrompt(f"prompt {i}") for i in range(12)]
    gens = backend(server, max_concurrency=4).generate(prompts, PARAMS)
    assert [g.text for g in gens] == [f"echo: prompt {i}" for i in range(12)]


def test_concurrency_bounded(server):
    server.delay_s = 0.1
    prompts = [ChatPrompt(str(i)) for i in range(9)]
    backend(server, max_concurrency=3).generate(prompts, PARAMS)
    assert len(server.requests) == 9
    assert 2 <= server.max_in_flight <= 3


def test_empty_prompt_list(server):
    assert backend(server).generate([], PARAMS) == []
    assert server.requests == []


def test_stop_applied_locally_and_at_most_four_sent(server):
    body = echo_completion({"messages": [{"content": "x"}]})
    body["choices"][0]["message"]["content"] = "Paris.\nQ: next question"
    body["choices"][0]["finish_reason"] = "length"
    server.enqueue(200, body)
    stops = ("\nQ:", "a", "b", "c", "d")
    [gen] = backend(server).generate([ChatPrompt("x")], GenerationParams(stop=stops))
    assert gen.text == "P"  # "a" is in the local list and cuts first
    assert gen.finish_reason == "stop"
    assert server.requests[0].body["stop"] == ["\nQ:", "a", "b", "c"]


def test_usage_missing_is_estimated(server):
    body = echo_completion({"messages": [{"content": "x"}]})
    del body["usage"]
    body["choices"][0]["message"]["content"] = "12345678"
    server.enqueue(200, body)
    [gen] = backend(server).generate([ChatPrompt("abcde")], PARAMS)
    assert (gen.input_tokens, gen.output_tokens) == (2, 2)
    assert gen.extra["tokens_estimated"] is True


def test_test_prompt(server):
    gen = backend(server).test()
    assert gen.text == "echo: Reply with OK."
    assert server.requests[0].body["max_tokens"] >= 1


def test_list_models(server):
    assert backend(server).list_models() == ["fake-model"]


# ------------------------------------------------------------------ retries


@pytest.mark.parametrize("status", [429, 503, 500])
def test_retries_then_success(server, status):
    server.enqueue(status, {"error": {"message": "busy"}})
    server.enqueue(status)
    [gen] = backend(server, max_retries=3).generate([ChatPrompt("hi")], PARAMS)
    assert gen.text == "echo: hi"
    assert gen.extra["attempts"] == 3
    assert len(server.requests) == 3


def test_retry_on_dropped_connection(server):
    server.enqueue(drop=True)
    [gen] = backend(server, max_retries=2).generate([ChatPrompt("hi")], PARAMS)
    assert gen.text == "echo: hi"
    assert len(server.requests) == 2


def test_retry_after_honoured(server):
    server.enqueue(429, headers={"Retry-After": "1"})
    start = time.perf_counter()
    backend(server, max_retries=1, backoff_s=0.0).generate([ChatPrompt("hi")], PARAMS)
    assert time.perf_counter() - start >= 0.95
    assert len(server.requests) == 2


def test_retry_after_capped(server, monkeypatch):
    monkeypatch.setattr(openai_compat, "RETRY_AFTER_CAP_S", 0.05)
    server.enqueue(503, headers={"Retry-After": "3600"})
    start = time.perf_counter()
    backend(server, max_retries=1).generate([ChatPrompt("hi")], PARAMS)
    assert time.perf_counter() - start < 2


def test_retries_exhausted(server):
    for _ in range(3):
        server.enqueue(503, {"error": {"message": "overloaded"}})
    with pytest.raises(ModelError) as e:
        backend(server, max_retries=2).generate([ChatPrompt("hi")], PARAMS)
    msg = str(e.value)
    assert "3 attempt" in msg and "503" in msg and "overloaded" in msg
    assert len(server.requests) == 3


def test_no_retry_on_client_error(server):
    server.enqueue(400, {"error": {"message": "max_tokens is too large"}})
    with pytest.raises(ModelError) as e:
        backend(server, max_retries=3).generate([ChatPrompt("hi")], PARAMS)
    assert "max_tokens is too large" in str(e.value)
    assert "400" in str(e.value)
    assert len(server.requests) == 1


# ------------------------------------------------------------------ errors


def test_401_names_env_var_and_hides_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    with FakeOpenAIServer(require_key="the-right-key") as srv:
        b = backend(srv, api_key_env=KEY_ENV)
        with pytest.raises(ModelError) as e:
            b.generate([ChatPrompt("hi")], PARAMS)
        assert len(srv.requests) == 1  # not retried
    msg = str(e.value)
    assert KEY_ENV in msg and "401" in msg
    assert SECRET not in msg
    assert SECRET not in repr(b)


def test_missing_env_var(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ModelError) as e:
        backend(server, api_key_env=KEY_ENV).generate([ChatPrompt("hi")], PARAMS)
    assert KEY_ENV in str(e.value) and ".streamlit/secrets.toml" in str(e.value)
    assert server.requests == []


def test_key_pasted_as_env_name_rejected(server):
    with pytest.raises(ModelError) as e:
        backend(server, api_key_env=SECRET)
    assert SECRET not in str(e.value)


def test_unreachable_endpoint_is_quick_and_clear():
    port = closed_port()
    b = OpenAICompatBackend(
        f"http://127.0.0.1:{port}", "m", timeout_s=1.0, max_retries=1, backoff_s=0.01
    )
    start = time.perf_counter()
    with pytest.raises(ModelError) as e:
        b.generate([ChatPrompt("hi")], PARAMS)
    assert time.perf_counter() - start < 3
    msg = str(e.value)
    assert f"127.0.0.1:{port}" in msg and "running" in msg


def test_timeout(server):
    server.enqueue(delay_s=1.0)
    with pytest.raises(ModelError) as e:
        backend(server, timeout_s=0.2, max_retries=0).generate([ChatPrompt("hi")], PARAMS)
    assert "timed out" in str(e.value)


def test_404_unknown_model(server):
    b = OpenAICompatBackend(server.url, "no-such-model", backoff_s=0.01)
    with pytest.raises(ModelError) as e:
        b.generate([ChatPrompt("hi")], PARAMS)
    msg = str(e.value)
    assert "404" in msg and "no-such-model" in msg and "/v1" in msg


def test_404_wrong_path(server):
    b = OpenAICompatBackend(server.root + "/api/v1", "fake-model")
    with pytest.raises(ModelError) as e:
        b.generate([ChatPrompt("hi")], PARAMS)
    assert "404" in str(e.value) and "ends in /v1" in str(e.value)


def test_invalid_json(server):
    server.enqueue(200, "<html>proxy login</html>")
    with pytest.raises(ModelError) as e:
        backend(server).generate([ChatPrompt("hi")], PARAMS)
    assert "not valid JSON" in str(e.value) and "proxy login" in str(e.value)


def test_missing_choices(server):
    server.enqueue(200, {"object": "chat.completion", "choices": []})
    with pytest.raises(ModelError) as e:
        backend(server).generate([ChatPrompt("hi")], PARAMS)
    assert "choices" in str(e.value)


def test_one_failure_fails_the_batch(server):
    server.enqueue(400, {"error": {"message": "bad prompt"}})
    with pytest.raises(ModelError, match="bad prompt"):
        backend(server, max_concurrency=1).generate([ChatPrompt("a"), ChatPrompt("b")], PARAMS)


def test_repetition_penalty_maps_to_frequency_penalty_only_when_set(server):
    backend(server).generate([ChatPrompt("hi")], GenerationParams(no_repeat_ngram_size=4))
    backend(server).generate([ChatPrompt("hi")], GenerationParams(repetition_penalty=1.2))
    plain, penalised = server.requests[0].body, server.requests[1].body
    # no chat-completions field for an n-gram ban: nothing unknown is sent
    assert set(plain) == {"model", "messages", "max_tokens", "temperature", "top_p"}
    assert penalised["frequency_penalty"] == 1.0
