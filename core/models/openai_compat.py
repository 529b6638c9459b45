"""A model backend that talks to any OpenAI-compatible `/v1/chat/completions` endpoint.

This lets the ladder compare hosted or locally served models (vLLM, llama.cpp server,
Ollama, LM Studio, OpenAI itself) with the in-process transformers models, using the
same `Generation` records.

Main trade-off: we speak plain HTTP through `httpx` rather than an SDK, so any server
that implements the chat-completions shape works and there is no extra dependency, at
the cost of re-implementing retries, backoff and error translation here. Requests run
in a small thread pool (bounded concurrency) to keep evaluation of a data set fast
without tripping the server's rate limits; the answer order always matches the prompt
order. The API key is read from an environment variable (or passed explicitly) and is
never logged, shown in `repr`, or included in an error message.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from urllib.parse import urlsplit

import httpx

from core.models.base import (
    JSON_CLOSE,
    ChatPrompt,
    Generation,
    GenerationParams,
    ModelError,
    apply_stop,
)
from core.models.secrets import resolve_key

EXAMPLE_URL = "http://127.0.0.1:8000/v1"
MAX_SERVER_STOPS = 4  # the OpenAI API accepts at most four stop strings
RETRY_AFTER_CAP_S = 30.0
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def frequency_penalty(repetition_penalty: float) -> float:
    """The chat-completions `frequency_penalty` (-2..2, subtracted from a token's logit per
    earlier use in the answer) closest in effect to a transformers-style multiplicative
    `repetition_penalty`: 5 x (penalty - 1), so 1.2 -> 1.0, the API's usual strong value.

    >>> frequency_penalty(1.2), frequency_penalty(1.0), frequency_penalty(2.0)
    (1.0, 0.0, 2.0)
    """
    return round(max(-2.0, min(2.0, 5.0 * (repetition_penalty - 1.0))), 3)


def validate_base_url(url: str) -> str:
    """Check an endpoint URL and return its normalised root ending in `/v1`.

    >>> validate_base_url("http://127.0.0.1:8000/")
    'http://127.0.0.1:8000/v1'
    """
    raw = (url or "").strip()
    hint = f"Give the server root, for example {EXAMPLE_URL}"
    if not raw:
        raise ModelError(f"The base URL is empty. {hint}.")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https"):
        raise ModelError(f"The base URL {raw!r} must start with http:// or https://. {hint}.")
    if not parts.hostname:
        raise ModelError(f"The base URL {raw!r} has no host name. {hint}.")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ModelError(f"The base URL {raw!r} has an invalid port. {hint}.") from None
    if parts.query or parts.fragment:
        raise ModelError(f"The base URL {raw!r} must not contain '?' or '#'. {hint}.")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


class OpenAICompatBackend:
    """Generate with a model served behind an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        max_concurrency: int = 4,
        api_key: str | None = None,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        if not (model or "").strip():
            raise ModelError("The model name is empty: give the name the server knows it by.")
        if api_key_env is not None and not _ENV_NAME.match(api_key_env):
            raise ModelError(
                "api_key_env must be the NAME of an environment variable (letters, digits, "
                "underscores, e.g. OPENAI_API_KEY), not the key itself."
            )
        if timeout_s <= 0 or max_retries < 0 or backoff_s < 0 or max_concurrency < 1:
            raise ModelError(
                "timeout_s must be > 0, max_retries >= 0, backoff_s >= 0, max_concurrency >= 1."
            )
        self.model = model.strip()
        self.api_key_env = api_key_env
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.max_concurrency = int(max_concurrency)
        self._api_key = api_key or None

    def __repr__(self) -> str:
        key = "set" if (self._api_key or self.api_key_env) else "none"
        return (
            f"OpenAICompatBackend(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key_env={self.api_key_env!r}, key={key})"
        )

    # ----------------------------------------------------------------- public API

    def generate(
        self,
        prompts: list[ChatPrompt],
        params: GenerationParams,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Generation]:
        """Answer each prompt; the result list has the same order as `prompts`.

        `batch_size` is accepted for interchangeability with the local backend and
        ignored (`max_concurrency` bounds the work); `on_batch(1)` runs per answer.
        """
        if not prompts:
            return []
        headers = self._headers()
        workers = min(self.max_concurrency, len(prompts))
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        with (
            httpx.Client(timeout=self.timeout_s, headers=headers, limits=limits) as client,
            ThreadPoolExecutor(max_workers=workers) as pool,
        ):
            futures = [pool.submit(self._generate_one, client, p, params) for p in prompts]
            try:
                for done in as_completed(futures):
                    done.result()  # raise the first failure now
                    if on_batch:
                        on_batch(1)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
            return [f.result() for f in futures]

    def test(self) -> Generation:
        """Send one short prompt; raises `ModelError` with a fix if the endpoint is unusable."""
        params = GenerationParams(max_new_tokens=8, temperature=0.0)
        return self.generate([ChatPrompt(user="Reply with OK.")], params)[0]

    def list_models(self) -> list[str]:
        """Model ids the server offers (`GET /models`)."""
        with httpx.Client(timeout=self.timeout_s, headers=self._headers()) as client:
            data = self._request(client, "GET", "/models", None)[0]
        return [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]

    # ---------------------------------------------------------------- internals

    def _key(self) -> str | None:
        """The explicit key, else the one named by `api_key_env` (env, then secrets.toml)."""
        return self._api_key or resolve_key(self.api_key_env)

    def _headers(self) -> dict[str, str]:
        key = self._key()
        if key is None and self.api_key_env:
            raise ModelError(
                f"The API key variable {self.api_key_env} is not set: set "
                f"{self.api_key_env} in the environment or in .streamlit/secrets.toml."
            )
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _payload(self, prompt: ChatPrompt, params: GenerationParams) -> dict:
        payload: dict = {
            "model": self.model,
            "messages": prompt.messages(),
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            payload["seed"] = params.seed
        stops = [s for s in params.stop if s and s != JSON_CLOSE][:MAX_SERVER_STOPS]
        if stops:
            payload["stop"] = stops
        if params.repetition_penalty != 1.0:  # the only repetition field the API defines
            payload["frequency_penalty"] = frequency_penalty(params.repetition_penalty)
        # no_repeat_ngram_size has no chat-completions field and is not sent
        return payload

    def _generate_one(
        self, client: httpx.Client, prompt: ChatPrompt, params: GenerationParams
    ) -> Generation:
        payload = self._payload(prompt, params)
        data, latency, attempts = self._request(client, "POST", "/chat/completions", payload)
        text, finish = self._parse_choice(data)
        text, cut = apply_stop(text, params.stop)
        if cut:
            finish = "stop"
        extra: dict = {"attempts": attempts}
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        n_in, n_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if not isinstance(n_in, int) or not isinstance(n_out, int):
            chars_in = sum(len(m["content"]) for m in payload["messages"])
            n_in, n_out = math.ceil(chars_in / 4), math.ceil(len(text) / 4)
            extra["tokens_estimated"] = True
        return Generation(text, n_in, n_out, latency, finish_reason=finish, extra=extra)

    def _parse_choice(self, data: dict) -> tuple[str, str]:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ModelError(
                f"The response from {self.base_url}/chat/completions has no 'choices': the "
                "server does not look OpenAI-compatible; check the base URL points at the "
                "API root (ending in /v1)."
            )
        choice = choices[0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        text = message.get("content")
        if text is None:
            text = choice.get("text") or ""  # legacy completions shape
        return str(text), str(choice.get("finish_reason") or "stop")

    def _request(
        self, client: httpx.Client, method: str, path: str, payload: dict | None
    ) -> tuple[dict, float, int]:
        """Send with retries; return (JSON body, latency of the successful attempt, attempts)."""
        url = self.base_url + path
        last: ModelError | None = None
        retry_after: float | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt - 1, retry_after))
            retry_after = None
            start = time.perf_counter()
            try:
                resp = client.request(method, url, json=payload)
            except httpx.TimeoutException:
                last = ModelError(
                    f"The request to {url} timed out after {self.timeout_s:g} s: the server is "
                    "slow or overloaded; raise the timeout or lower max_new_tokens."
                )
                continue
            except httpx.TransportError as exc:
                last = ModelError(
                    f"Could not reach {url} ({type(exc).__name__}): check that the server is "
                    "running and that the host and port in the base URL are right."
                )
                continue
            latency = time.perf_counter() - start
            if resp.status_code == 429 or resp.status_code >= 500:
                retry_after = _retry_after(resp)
                last = self._http_error(resp, url)
                continue
            return self._check(resp, url), latency, attempt + 1
        assert last is not None
        tries = self.max_retries + 1
        raise ModelError(f"Gave up after {tries} attempt(s). {last}") from None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_CAP_S)
        base = self.backoff_s * (2**attempt)
        return min(base + random.uniform(0, self.backoff_s * 0.25), RETRY_AFTER_CAP_S)

    def _check(self, resp: httpx.Response, url: str) -> dict:
        if resp.status_code >= 300:
            raise self._http_error(resp, url)
        try:
            data = resp.json()
        except ValueError:
            snippet = self._scrub(resp.text[:200])
            raise ModelError(
                f"The response from {url} is not valid JSON (starts with {snippet!r}): check "
                "the base URL points at an OpenAI-compatible API, not a web page or proxy."
            ) from None
        if not isinstance(data, dict):
            raise ModelError(f"The response from {url} is JSON but not an object: check the URL.")
        return data

    def _http_error(self, resp: httpx.Response, url: str) -> ModelError:
        code, msg = resp.status_code, self._scrub(_server_message(resp))
        said = f" The server said: {msg}" if msg else ""
        if code in (401, 403):
            where = f"check {self.api_key_env}" if self.api_key_env else "check the API key"
            text = f"The API key was rejected (HTTP {code}) by {url}: {where}."
        elif code == 404:
            text = (
                f"Model {self.model!r} or path {url} not found (HTTP 404): check the model "
                "name and that the base URL ends in /v1."
            )
        elif code in (400, 422):
            text = f"The server refused the request (HTTP {code}): fix the parameters it names."
        elif code == 429:
            text = f"Rate limited by {url} (HTTP 429): lower max_concurrency or wait."
        elif code >= 500:
            text = f"Server error (HTTP {code}) at {url}: check the server's logs."
        else:
            text = f"Unexpected HTTP {code} from {url}: check the base URL."
        return ModelError(text + said)

    def _scrub(self, text: str) -> str:
        """Remove the API key from server-provided text (some servers echo it)."""
        key = self._key()
        if key:
            text = text.replace(key, "***")
        return text


def _server_message(resp: httpx.Response) -> str:
    """The error message in an OpenAI-style (or FastAPI-style) error body, else raw text."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300]
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return str(err)[:300]
    return str(body)[:300]


def _retry_after(resp: httpx.Response) -> float | None:
    """`Retry-After` in seconds, if the header is present and numeric."""
    value = resp.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to exponential backoff
    if seconds is None or math.isnan(seconds):
        return None
    return max(0.0, seconds)
