"""uvicorn's httptools protocol with the bounds one connection must not get past.

Plain uvicorn lets a single unauthenticated connection grow the collector's memory without
limit: httptools keeps a header (or a URL) that never ends, and a client that pipelines
requests without reading the answers gets every one of them parsed and queued (measured:
500 MB of headers took the process from 36 to 541 MB; 300 000 pipelined GETs to 720 MB, kept
after the connection closed). This subclass, passed to `uvicorn.Config(http=...)`, bounds:

- the header section of a request (request line included) to MAX_HEADER_BYTES: past it the
  answer is 431 and the connection closes;
- the requests queued behind the one being answered to MAX_PIPELINED: past it the connection
  closes (no real client pipelines this deep; answers must go out in order, so the surplus
  cannot be answered early);
- the time to send a request's headers to HEADER_TIMEOUT_S, from the connection's start or
  the request's first packet: a client that stops half-way is closed (408) instead of holding
  its connection forever. Between requests uvicorn's keep-alive timeout applies.
- the time to send a request's body to BODY_TIMEOUT_S from the packet that ends its headers:
  a client that trickles its body (or announces more than it sends) is answered 408 and closed,
  instead of holding one of the MAX_CONCURRENCY slots forever.

The number of connections and requests in progress is bounded by uvicorn's own
`limit_concurrency` (MAX_CONCURRENCY, set in candor.cli.serve.server_config): past it, 503.
Its answers past that limit and to a malformed request are the collector's JSON errors
instead of plain text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httptools
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    import asyncio

    from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

MAX_HEADER_BYTES = 64 * 1024  # Node allows 16 KiB, nginx 8 KiB + 4 × 8 KiB: ample for a client
MAX_PIPELINED = 32  # requests parsed ahead of the one being answered, per connection
HEADER_TIMEOUT_S = 10.0  # a request's headers arrive in one packet from any real client
# A whole body (at most MAX_BODY_BYTES, 512 KiB) in this long: 35 KB/s at worst. The sender's
# batches are a few KB of gzip; a body still arriving after this is a stuck or hostile client.
BODY_TIMEOUT_S = 15.0
MAX_CONCURRENCY = 1000  # connections, and requests in progress; ~1 MB each at worst


class _TooManyPipelined(Exception):
    """Raised from a parser callback to stop parsing a connection's input at once."""


def _answer(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response with the collector's JSON error body, closing the connection."""
    body = json.dumps({"error": code, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


HEADERS_TOO_LARGE = _answer(
    431,
    "Request Header Fields Too Large",
    "headers_too_large",
    f"the request line and headers are larger than {MAX_HEADER_BYTES} bytes",
)
HEADERS_TOO_SLOW = _answer(
    408, "Request Timeout", "request_timeout", f"no complete headers within {HEADER_TIMEOUT_S:g} s"
)
MALFORMED = _answer(400, "Bad Request", "malformed_request", "the request is not valid HTTP/1.1")
BODY_TOO_SLOW = _answer(
    408, "Request Timeout", "request_timeout", f"no complete body within {BODY_TIMEOUT_S:g} s"
)
_BUSY_BODY = json.dumps(
    {
        "error": "unavailable",
        "message": f"the collector is serving its limit of {MAX_CONCURRENCY} connections; "
        "retry shortly",
    }
).encode()
_BUSY_START = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(_BUSY_BODY)),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ],
}


async def busy(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """uvicorn's answer past MAX_CONCURRENCY (its `service_unavailable`), in the JSON shape of
    every other error of the collector."""
    await send(_BUSY_START)  # type: ignore[arg-type]
    await send({"type": "http.response.body", "body": _BUSY_BODY, "more_body": False})


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with bounded headers, pipelining and header time (see the module)."""

    _awaiting_headers = True  # from the connection's start, and after each request's end
    _header_bytes = 0
    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _in_headers = False  # between a request's first byte and the end of its headers
    _reading_body = False  # between a request's headers and the end of its body

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        self._disarm_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, with the header budget checked around each feed. A chunk that ends
        # the headers is counted whole; the count restarts when the headers are complete.
        self._unset_keepalive_if_required()
        if self._awaiting_headers:
            self._header_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, _TooManyPipelined):
                self.logger.warning("Too many pipelined requests: connection closed.")
                self.transport.close()
                return
            self.logger.warning("Invalid HTTP request received.")  # uvicorn's words
            self._refuse(MALFORMED)
            return
        except httptools.HttpParserError:
            self.logger.warning("Invalid HTTP request received.")
            self._refuse(MALFORMED)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._awaiting_headers and self._header_bytes > MAX_HEADER_BYTES:
            self.logger.warning("Request headers too large: connection closed.")
            self._refuse(HEADERS_TOO_LARGE)
            return
        # The timers are armed only when a chunk ends mid-request: a whole request in one
        # packet, the usual case, costs none.
        if self._in_headers:
            if self._header_timer is None:
                self._arm_header_timer()
        elif self._reading_body and self._body_timer is None:
            self._body_timer = self.loop.call_later(BODY_TIMEOUT_S, self._body_too_slow)

    def send_400_response(self, msg: str) -> None:
        self._refuse(MALFORMED)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True  # the header timer is armed if the chunk ends here

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._in_headers = False
        self._header_bytes = 0
        self._disarm_header_timer()
        super().on_headers_complete()
        if len(self.pipeline) > MAX_PIPELINED:
            raise _TooManyPipelined
        self._reading_body = True  # until on_message_complete (at once without a body)

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm_body_timer()
        super().on_message_complete()
        self._awaiting_headers = True

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        if app is service_unavailable:  # past MAX_CONCURRENCY: the same 503, in JSON
            app = busy
        super()._start_asgi_task(cycle, app)

    def _refuse(self, answer: bytes) -> None:
        """Send `answer` unless a response is under way (it would interleave), then close."""
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(answer)
        self.transport.close()

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _disarm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        self.logger.warning("Request body too slow: connection closed.")
        # 408 unless an answer is under way: this request's own, or an earlier one's that a
        # pipelined request waits behind (the two would interleave).
        if not self.pipeline and self.cycle is not None and not self.cycle.response_started:
            self.transport.write(BODY_TOO_SLOW)
        self.transport.close()  # the waiting request is told the client disconnected

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers:
            self._refuse(HEADERS_TOO_SLOW)
