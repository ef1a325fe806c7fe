"""A stdlib HTTP server on 127.0.0.1 standing in for the collector, in any network condition.

`Sink` answers `POST /v1/event` as `candor serve` does (per-event validation with
`candor.schema.validate_event`, 202 body, dedup by Idempotency-Key) in mode "answer", and
misbehaves on demand, switchable while it runs::

    answer        202 {"accepted", "rejected", "errors"}; events stored once per key
    reject_index  the same, but the event at `reject_index` is rejected in the 202 body
    lose_answer   stores the batch as "answer" does, then closes without answering
    refuse        nothing listens on the port (connection refused)
    hang          accepts and reads the request, never answers
    status500     500 with a JSON error
    status429     429 with `Retry-After: <retry_after>`
    status503     503 with `Retry-After: <retry_after>`, as `candor serve` answers when its store
                  cannot commit
    status400     400 for the whole batch
    redirect      307 to plain http:// on the same port
    portal        200 with an HTML page, as a captive portal answers anything

Every request is recorded (headers, body, mode), with the peak number answered concurrently,
so tests can assert exactly-once delivery and one sender at a time.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from candor.schema import EVENT_PATH, MAX_BATCH_EVENTS, MAX_BODY_BYTES, validate_event

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

MODES = (
    "answer", "reject_index", "lose_answer", "refuse", "hang", "status500", "status429",
    "status503", "status400", "redirect", "portal",
)  # fmt: skip
HANG_LIMIT_S = 60.0  # a hanging handler gives up eventually, so no thread outlives a test run
POLL_INTERVAL_S = 0.02
SHUTDOWN_POLL_S = 0.02  # how often serve_forever looks for shutdown(); the default 0.5 s is slow


class SinkRequest:
    """One request as the sink received it."""

    __slots__ = ("body", "headers", "method", "mode", "path")

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes, mode: str):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.mode = mode  # the sink's mode when it arrived

    @property
    def key(self) -> str | None:
        """The request's Idempotency-Key header."""
        return self.headers.get("idempotency-key")

    def batch(self) -> list[object]:
        """The posted JSON array."""
        value = json.loads(self.body)
        assert isinstance(value, list)
        return value


class Sink:
    """The collector stand-in; use as a context manager or call start() and close()."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.port = 0
        self.mode = "answer"
        self.retry_after = "1"
        self.reject_index = 0
        self.delay_s = 0.0  # answer this much later (to make concurrent senders overlap)
        self.batch_limit = MAX_BATCH_EVENTS  # lower it to play a stricter collector (413)
        self.requests: list[SinkRequest] = []
        self.events: list[dict[str, object]] = []  # accepted events, once per Idempotency-Key
        self.answers: dict[str, tuple[int, bytes]] = {}  # key -> stored 202
        self.in_flight = 0
        self.max_in_flight = 0
        self.on_answer: Callable[[], None] | None = None  # called once an answer is written
        self.lock = threading.Lock()
        self._release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint to give the client."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{EVENT_PATH}"

    def start(self) -> Sink:
        """Listen on 127.0.0.1 (a free port the first time, the same port after "refuse")."""
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.sink = self
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(SHUTDOWN_POLL_S,), daemon=True
        )
        self._thread.start()
        return self

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        """Stop listening and let every hanging handler go."""
        self._release.set()
        self._stop_listening()

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def set_mode(
        self,
        mode: str,
        *,
        retry_after: str = "1",
        reject_index: int = 0,
        delay_s: float = 0.0,
    ) -> None:
        """Switch behaviour now; requests already hanging are released."""
        assert mode in MODES, mode
        self._release.set()
        self._release = threading.Event()
        self.retry_after, self.reject_index, self.delay_s = retry_after, reject_index, delay_s
        if mode == "refuse" and self._server is not None:
            self._stop_listening()
        elif mode != "refuse" and self._server is None:
            self.start()
        self.mode = mode

    def keys(self) -> list[str | None]:
        """The Idempotency-Key of every request, in order of arrival."""
        return [request.key for request in self.requests]

    def ingest(self, body: bytes, content_type: str, key: str | None) -> tuple[int, bytes]:
        """Answer a batch as the collector does; the same key gets the stored answer."""
        if key is not None and key in self.answers:
            return self.answers[key]
        if content_type.split(";")[0].strip() != "application/json":
            return _error(415, "unsupported_media_type", "send application/json")
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "payload_too_large", "the body is over 512 KiB")
        try:
            batch = json.loads(body)
        except ValueError:
            return _error(400, "malformed_json", "the body is not JSON")
        if not isinstance(batch, list):
            return _error(400, "malformed_json", "the body must be a JSON array")
        if len(batch) > self.batch_limit:
            return _error(413, "payload_too_large", f"more than {self.batch_limit} events")
        errors: list[dict[str, object]] = []
        accepted: list[dict[str, object]] = []
        for index, event in enumerate(batch):
            problems = validate_event(event)
            if self.mode == "reject_index" and index == self.reject_index:
                problems = ["rejected by the test sink"]
            if problems:
                errors.append({"index": index, "reason": "; ".join(problems)})
            else:
                accepted.append(event)
        self.events.extend(accepted)
        answer = (
            202,
            json.dumps(
                {"accepted": len(accepted), "rejected": len(errors), "errors": errors}
            ).encode(),
        )
        if key is not None:
            self.answers[key] = answer
        return answer

    def wait_until(self, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        """Poll `predicate` until true; fail the test saying `what` did not happen."""
        wait_until(predicate, what, timeout)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll `predicate` every few milliseconds until it holds, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(POLL_INTERVAL_S)


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": code, "message": message}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging handler never blocks close()
    sink: Sink


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""

    def do_POST(self) -> None:
        sink = self.server.sink
        with sink.lock:
            sink.in_flight += 1
            sink.max_in_flight = max(sink.max_in_flight, sink.in_flight)
        try:
            self._post(sink)
        finally:
            with sink.lock:
                sink.in_flight -= 1

    def _post(self, sink: Sink) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        mode, release = sink.mode, sink._release
        headers = {name.lower(): value for name, value in self.headers.items()}
        with sink.lock:
            sink.requests.append(SinkRequest("POST", self.path, headers, body, mode))
        if mode == "hang":
            release.wait(HANG_LIMIT_S)
            self.close_connection = True
            return
        if sink.delay_s:
            release.wait(sink.delay_s)
        extra: dict[str, str] = {}
        if mode == "status500":
            status, payload = _error(500, "internal", "the test sink fails on purpose")
        elif mode == "status429":
            status, payload = _error(429, "rate_limited", "slow down")
            extra["Retry-After"] = sink.retry_after
        elif mode == "status503":
            status, payload = _error(503, "unavailable", "the store cannot commit; retry later")
            extra["Retry-After"] = sink.retry_after
        elif mode == "status400":
            status, payload = _error(400, "malformed_json", "refused by the test sink")
        elif mode == "redirect":
            status, payload = 307, b""
            extra["Location"] = f"http://127.0.0.1:{sink.port}/elsewhere"
        elif mode == "portal":
            status, payload = 200, b"<html><body>Please log in to the Wi-Fi</body></html>"
        else:
            with sink.lock:
                status, payload = sink.ingest(
                    body, headers.get("content-type", ""), headers.get("idempotency-key")
                )
            if mode == "lose_answer":
                self.close_connection = True
                return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        if sink.on_answer is not None:
            sink.on_answer()
