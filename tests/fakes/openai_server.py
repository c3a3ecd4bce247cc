"""A local OpenAI-compatible HTTP server for tests: scripted replies per route, every request recorded.

Speaks enough of `POST /v1/chat/completions` and `POST /v1/images/generations` for the SDK, and serves
files under `/files/` so an images answer can be a URL. Standard library only; runs in a thread.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROUTES = {"/v1/chat/completions": "chat", "/v1/images/generations": "images"}


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, body (a dict is sent as JSON, bytes as they are), headers, delay."""

    status: int = 200
    body: dict[str, Any] | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    route: str
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # decoded JSON, or None


def _error(status: int, message: str, *, type: str, code: str | None, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": type, "param": None, "code": code}}, headers or {})


def chat(content: object, *, prompt_tokens: int = 120, completion_tokens: int = 900,
         model: str = "fake-model") -> Reply:
    """A chat completion whose message is `content`: a string as it is, anything else as its JSON text."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Reply(200, {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })


def rate_limited(retry_after: str = "0.01") -> Reply:
    """A 429 that asks the client to wait `retry_after` seconds."""
    return _error(429, "Rate limit reached for requests", type="requests", code="rate_limit_exceeded",
                  headers={"retry-after": retry_after})


def insufficient_quota() -> Reply:
    """OpenAI's permanent 429: the account has no quota left."""
    return _error(429, "You exceeded your current quota, please check your plan and billing details.",
                  type="insufficient_quota", code="insufficient_quota")


def server_error(status: int = 500, retry_after: str | None = "0.01") -> Reply:
    """A 5xx (with a short Retry-After so that retries stay fast)."""
    return _error(status, "The server had an error while processing your request.", type="server_error", code=None,
                  headers={"retry-after": retry_after} if retry_after else {})


def rejected(status: int = 400, message: str = "Invalid value for 'model'.") -> Reply:
    """A 4xx the client must not retry."""
    return _error(status, message, type="invalid_request_error", code="invalid_value")


def slow(reply: Reply, seconds: float) -> Reply:
    """The same reply, sent after `seconds`."""
    return replace(reply, delay=seconds)


def image_b64(data: bytes) -> Reply:
    """An images answer carrying the file as base64."""
    return Reply(200, {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(data).decode()}],
                       "usage": {"input_tokens": 40, "output_tokens": 4000, "total_tokens": 4040}})


def image_url(url: str) -> Reply:
    """An images answer pointing at a URL."""
    return Reply(200, {"created": int(time.time()), "data": [{"url": url}]})


class FakeOpenAI:
    """The server; use as a context manager. Unscripted requests get a 418 that names them."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._files: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The base URL to give the SDK."""
        return f"{self.origin}/v1"

    def script(self, route: str, *replies: Reply) -> None:
        """Queue replies for a route: "chat", "images" or "files"; each request takes the next one."""
        with self._lock:
            self._scripts[route].extend(replies)

    def serve_file(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve bytes at /files/NAME; returns the URL."""
        self._files[name] = (data, content_type)
        return f"{self.origin}/files/{name}"

    def count(self, route: str) -> int:
        """How many requests a route received."""
        return sum(1 for r in self.requests if r.route == route)

    def _next_reply(self, route: str, path: str) -> Reply:
        with self._lock:
            if self._scripts[route]:
                return self._scripts[route].popleft()
        if route == "files" and path.removeprefix("/files/") in self._files:
            data, content_type = self._files[path.removeprefix("/files/")]
            return Reply(200, data, content_type=content_type)
        return rejected(418, f"the fake OpenAI server has no reply scripted for {route} {path}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                route = "files" if self.path.startswith("/files/") else ROUTES.get(self.path, "unknown")
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                headers = {name.lower(): value for name, value in self.headers.items()}
                fake.requests.append(Recorded(route, self.command, self.path, headers, body))
                reply = fake._next_reply(route, self.path)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
