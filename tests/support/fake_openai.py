"""A local OpenAI-compatible provider for tests: real HTTP on a free loopback port.

It serves POST /api/v1/chat/completions (streamed as server-sent events, a word a
chunk, when the request asks `"stream": true` and `streams` is on), GET
/api/v1/key and GET /api/v1/credits, answers as it is told (normally, slowly,
with an HTTP error and Retry-After, by dropping the connection, with text that is
not the JSON asked for), and records every request it receives with its arrival
time.

    with FakeOpenAI() as fake:
        fake.answer(Reply(status=429, retry_after="7"), times=1)
        ...settings with OPENROUTER_BASE_URL=fake.url...
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

API = "/api/v1"


@dataclass(frozen=True)
class Reply:
    """How to answer one request: after `delay_s`, with `status` (200: a completion)."""

    status: int = 200
    delay_s: float = 0.0
    retry_after: str | None = None
    drop: bool = False  # close the connection without answering
    content: str | None = None  # completion text; None: the server's `content`
    release: threading.Event | None = None  # hold the answer until this is set (<= 120 s)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    at: float  # arrival (time.time() clock): when the kernel received its first bytes
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Script:
    default: Reply = field(default_factory=Reply)
    queued: list[Reply] = field(default_factory=list)
    rules: list[tuple[str, Reply]] = field(default_factory=list)

    def pick(self, body: bytes) -> Reply:
        text = body.decode(errors="replace")
        for needle, reply in self.rules:
            if needle in text:
                return reply
        return self.queued.pop(0) if self.queued else self.default


class FakeOpenAI:
    def __init__(self) -> None:
        self.content: str | Callable[[dict[str, Any]], str] = "A fake summary."
        self.key_data: dict[str, Any] = {
            "label": "test key",
            "usage": 1.5,
            "usage_daily": 0.25,
            "usage_monthly": 1.5,
            "limit": None,
            "limit_remaining": None,
            "is_free_tier": False,
        }
        self.credits_data: dict[str, Any] | None = {"total_credits": 10.0, "total_usage": 1.5}
        # Whether a request asking to stream gets SSE chunks (off: plain JSON, as a
        # provider that cannot stream answers), and the pause before each chunk.
        self.streams = True
        self.chunk_delay_s = 0.0
        self._chat = _Script()
        self._key = _Script()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API}"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- telling it how to answer ---------------------------------------------------

    def answer(self, reply: Reply, *, times: int | None = None) -> None:
        """Chat requests get `reply`: the next `times` ones, or all from now on."""
        with self._lock:
            if times is None:
                self._chat.default, self._chat.queued = reply, []
            else:
                self._chat.queued.extend([reply] * times)

    def answer_when(self, needle: str, reply: Reply) -> None:
        """Chat requests whose body contains `needle` get `reply` (before anything else)."""
        with self._lock:
            self._chat.rules.append((needle, reply))

    def answer_key(self, reply: Reply) -> None:
        """How GET /key and /credits answer from now on."""
        with self._lock:
            self._key.default = reply

    # -- what it received -------------------------------------------------------------

    def received(self, path: str = "/chat/completions") -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == API + path]

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def _pick(self, path: str, body: bytes) -> Reply:
        with self._lock:
            script = self._chat if path.endswith("/chat/completions") else self._key
            return script.pick(body)

    def _text(self, request: dict[str, Any], reply: Reply) -> str:
        if reply.content is not None:
            return reply.content
        if callable(self.content):
            return self.content(request)
        return self.content

    def _completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        text = self._text(request, reply)
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": request.get("model", ""),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }


# Linux's SO_TIMESTAMPNS (the socket module does not name it): each read of a TCP
# socket comes with the time the kernel received the data.
_SO_TIMESTAMPNS = 35


class _StampedReads(io.RawIOBase):
    """Reads a connection and keeps the kernel's receive time of the first bytes
    since the last `arrival()`: when a request reached this server, however late
    a busy machine lets its handler thread run (a test's load would skew times
    taken in the handler by 100 ms and more)."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._first: float | None = None
        # Not Linux: arrival() falls back to the handler's clock.
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data, ancillary, _, _ = self._connection.recvmsg(len(buffer), socket.CMSG_SPACE(16))
        for level, kind, stamp in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and self._first is None:
                seconds, nanoseconds = struct.unpack("qq", stamp[:16])
                self._first = seconds + nanoseconds / 1e9
        buffer[: len(data)] = data
        return len(data)

    def arrival(self) -> float:
        """When the current request's first bytes arrived; the next read starts anew."""
        first, self._first = self._first, None
        return first if first is not None else time.time()


class _Server(ThreadingHTTPServer):
    # Many clients connect at once in the load tests: a short backlog would drop
    # their SYNs and delay them by a retransmission second.
    request_queue_size = 256


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: with Nagle on, the body waits
        # for the client's delayed ACK (~40 ms a call).
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            self.reads = _StampedReads(self.connection)
            self.rfile = io.BufferedReader(self.reads)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `received()` instead."""

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length))

        def _serve(self, body: bytes) -> None:
            fake._record(Received(self.command, self.path, self.reads.arrival(), body))
            reply = fake._pick(self.path, body)
            if reply.release is not None:
                reply.release.wait(120)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if reply.status != 200:
                message = {"error": {"message": f"fake error {reply.status}", "code": reply.status}}
                self._send(reply.status, message, reply.retry_after)
            elif self.path == API + "/chat/completions":
                request = json.loads(body or b"{}")
                if request.get("stream") and fake.streams:
                    self._stream(fake._text(request, reply).split(" "))
                else:
                    self._send(200, fake._completion(request, reply))
            elif self.path == API + "/key":
                self._send(200, {"data": fake.key_data})
            elif self.path == API + "/credits" and fake.credits_data is not None:
                self._send(200, {"data": fake.credits_data})
            else:
                self._send(404, {"error": {"message": "no such endpoint", "code": 404}})

        def _stream(self, words: list[str]) -> None:
            """The reply as SSE chunks, a word each, then [DONE]; the connection closes."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.close_connection = True
            try:
                self.end_headers()
                self.wfile.write(b": FAKE PROCESSING\n\n")
                for index, word in enumerate(words):
                    time.sleep(fake.chunk_delay_s)
                    piece = word if index == 0 else " " + word
                    chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(
            self, status: int, payload: dict[str, Any], retry_after: str | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The caller gave up first (the timeout tests delay on purpose).
                self.close_connection = True

    return Handler


# The API key tests configure; no log line may ever contain it.
TEST_API_KEY = "sk-test-fake-0123456789-do-not-log"


def provider_overrides(fake: FakeOpenAI | None, **more: Any) -> dict[str, Any]:
    """Settings values pointing the provider at `fake` (None: no API key at all)."""
    values: dict[str, Any] = {"OPENROUTER_API_KEY": None}
    if fake is not None:
        values = {
            "OPENROUTER_API_KEY": TEST_API_KEY,
            "OPENROUTER_BASE_URL": fake.url,
            "OPENROUTER_MODEL": "fake/text-model",
            "OPENROUTER_VISION_MODEL": "fake/vision-model",
            "OPENROUTER_TIMEOUT": 2.0,
        }
    values.update(more)
    return values
