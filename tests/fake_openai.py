"""A deterministic fake OpenAI-compatible server for tests (no network beyond 127.0.0.1).

    with FakeOpenAIServer(require_key="sk-test") as srv:
        srv.enqueue(status=429, headers={"Retry-After": "0"})
        backend = OpenAICompatBackend(srv.url, "fake-model", api_key="sk-test")
        ...
        assert srv.requests[-1].headers["authorization"] == "Bearer sk-test"

Without queued responses, `POST /v1/chat/completions` answers "echo: <last user message>"
with word-count usage (cut to `max_tokens` words, then finish_reason "length").
`answer=fn` replies `fn(body)` instead of the echo.
`GET /v1/models` lists `models`. The server records every request and the highest
number of requests it was serving at the same time (`max_in_flight`); `delay_s` makes
each answer slow so that overlap is observable.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeResponse:
    """One programmed answer. `body` dict/list -> JSON, str/bytes -> sent as-is.

    `drop=True` closes the connection without answering (a transport error).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or the raw text if it was not JSON, or None


def echo_completion(body: dict, model: str = "fake-model") -> dict:
    """The default answer: echo the last user message, usage counted in words."""
    messages = body.get("messages") or [{"content": ""}]
    last = str(messages[-1].get("content", ""))
    words = f"echo: {last}".split()
    limit = int(body.get("max_tokens") or len(words) or 1)
    finish = "length" if len(words) > limit else "stop"
    words = words[:limit]
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in messages)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", model),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": " ".join(words)},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_words,
            "completion_tokens": len(words),
            "total_tokens": prompt_words + len(words),
        },
    }


def text_completion(body: dict, text: str) -> dict:
    """A completion whose message is `text`, usage counted in words like `echo_completion`."""
    reply = echo_completion(body)
    prompt = reply["usage"]["prompt_tokens"]
    reply["choices"][0]["message"]["content"] = text
    reply["choices"][0]["finish_reason"] = "stop"
    reply["usage"].update(completion_tokens=len(text.split()),
                          total_tokens=prompt + len(text.split()))
    return reply


def error_body(message: str, code: str = "error") -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


class FakeOpenAIServer:
    """Threaded HTTP server on a free port; use as a context manager."""

    def __init__(
        self,
        *,
        require_key: str | None = None,
        models: tuple[str, ...] = ("fake-model",),
        delay_s: float = 0.0,
        answer: Any = None,
    ) -> None:
        self.require_key = require_key
        self.answer = answer  # body -> the reply's text (usage counted in words), or None
        self.models = models
        self.delay_s = delay_s
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._queue: deque[FakeResponse] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- programming -----------------------------------------------------------

    def enqueue(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        delay_s: float = 0.0,
        drop: bool = False,
    ) -> None:
        """Queue one answer for the next chat-completions request (FIFO)."""
        with self._lock:
            self._queue.append(FakeResponse(status, body, dict(headers or {}), delay_s, drop))

    # -- lifecycle -------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The base URL a client should be given (ends in /v1)."""
        return self.root + "/v1"

    def start(self) -> FakeOpenAIServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (called from handler threads) -------------------------

    def _respond(self, req: RecordedRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(req)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return self._decide(req)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _decide(self, req: RecordedRequest) -> FakeResponse:
        if self.require_key is not None:
            auth = req.headers.get("authorization", "")
            if auth != f"Bearer {self.require_key}":
                # Like some real servers, echo the key received: clients must not leak it.
                given = auth.removeprefix("Bearer ")
                return FakeResponse(401, error_body(f"Incorrect API key: {given}", "invalid_key"))
        if req.method == "GET" and req.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "owned_by": "fake"} for m in self.models]
            return FakeResponse(200, {"object": "list", "data": data})
        if req.method != "POST" or req.path.rstrip("/") != "/v1/chat/completions":
            return FakeResponse(404, error_body(f"Unknown path {req.path}", "not_found"))
        with self._lock:
            queued = self._queue.popleft() if self._queue else None
        if queued is not None:
            time.sleep(queued.delay_s)
            return queued
        time.sleep(self.delay_s)
        if not isinstance(req.body, dict):
            return FakeResponse(400, error_body("Body must be a JSON object"))
        if req.body.get("model") not in self.models:
            msg = f"The model '{req.body.get('model')}' does not exist"
            return FakeResponse(404, error_body(msg, "model_not_found"))
        if self.answer is not None:
            return FakeResponse(200, text_completion(req.body, str(self.answer(req.body))))
        return FakeResponse(200, echo_completion(req.body))


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            headers = {k.lower(): v for k, v in self.headers.items()}
            resp = server._respond(RecordedRequest(self.command, self.path, headers, body))
            try:
                self._send(resp)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. its timeout); nothing to do

        def _send(self, resp: FakeResponse) -> None:
            if resp.drop:
                self.close_connection = True
                return
            if isinstance(resp.body, dict | list):
                payload, ctype = json.dumps(resp.body).encode(), "application/json"
            elif resp.body is None:
                payload, ctype = b"", "text/plain"
            else:
                text = resp.body if isinstance(resp.body, bytes) else str(resp.body).encode()
                payload, ctype = text, "text/plain"
            self.send_response(resp.status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
