"""POST /v1/event: rate limit, content checks, bounded body, validation, group commit, 202.

A raw ASGI endpoint rather than a Starlette request handler: it is the collector's hot path,
and it reads exactly the four headers it needs (Content-Type, Content-Encoding,
Content-Length, Idempotency-Key) and nothing else a client sends. The client address is used
for one thing, the in-memory rate limiter, and goes nowhere else.

The app hands it POST /v1/event before its middleware and router (see `candor.server.http.app`),
so it answers its own errors, in the JSON shape of `candor.server.http.errors`. The usual answer
(every event accepted) and its response messages are built once per event count and reused.
"""

from __future__ import annotations

import logging
import zlib
from typing import TYPE_CHECKING, Any

import msgspec

from candor.schema import MAX_BODY_BYTES
from candor.server.http.errors import (
    CollectorError,
    MalformedBody,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMedia,
)
from candor.server.http.idempotency import REPLAYED_HEADER, parse_key
from candor.server.http.validation import check_body
from candor.storage.base import Submission

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send

    from candor.server.http.ratelimit import RateLimiter
    from candor.server.runtime.metrics import Metrics
    from candor.server.store.committer import Committer

ACCEPTED = 202
INTERNAL_ERROR = 500
JSON_TYPE = b"application/json"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around deflate data
_CONTENT_TYPE = (b"content-type", JSON_TYPE)

log = logging.getLogger("candor.ingest")


class ClientGone(MalformedBody):
    """The client closed the connection before its body arrived: no one to answer."""


class IngestEndpoint:
    """The ASGI app behind `POST /v1/event` (mounted by create_app)."""

    def __init__(
        self,
        committer: Committer,
        metrics: Metrics,
        limiter: RateLimiter | None,
    ) -> None:
        self._committer = committer
        self._metrics = metrics
        self._limiter = limiter
        # Answer body -> its two response messages. Bounded: filled only with the answers
        # "all N accepted" (N up to MAX_BATCH_EVENTS), which do not depend on client text.
        self._replies: dict[bytes, tuple[Message, Message]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status = await self._handle(scope, receive, send)
        except CollectorError as error:
            status = error.status
            await _send_error(send, status, error.code, error.message, error.headers)
        except Exception:
            # A bug, not bad input: no detail for the client; the traceback goes to the log,
            # which redacts addresses (candor.server.runtime.logs).
            log.exception("POST /v1/event failed")
            status = INTERNAL_ERROR
            await _send_error(
                send, status, "internal_error", "internal error; the collector logged it"
            )
        self._metrics.request(status)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> int:
        if self._limiter is not None:
            client = scope.get("client")
            wait_s = self._limiter.acquire(client[0] if client else "")
            if wait_s:
                raise RateLimited(wait_s)
        content_type = encoding = length = key = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == b"idempotency-key":
                key = value
            elif name == b"content-encoding":
                encoding = value
        if content_type != JSON_TYPE:
            _check_content_type(content_type)
        gzipped = encoding is not None and _is_gzip(encoding)
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise PayloadTooLarge(_too_large())
        idempotency_key = parse_key(key) if key is not None else None
        body = await _read_body(receive)
        if gzipped:
            body = _gunzip(body)
        checked = check_body(body)
        metrics = self._metrics
        metrics.request_events.observe(checked.total)
        accepted = len(checked.rows)
        answer = checked.answer()
        if accepted or idempotency_key is not None:
            submission = Submission(checked.rows, None, answer, idempotency_key)
            outcome = await self._committer.submit(submission)
            if outcome.replayed:
                # Answered as the first time; its events were counted the first time too.
                metrics.replayed += 1
                await _send_answer(send, outcome.answer, (REPLAYED_HEADER,))
                return ACCEPTED
        metrics.events_accepted += accepted
        if checked.rejections:
            for rejection in checked.rejections:
                metrics.rejected(rejection.code)
            await _send_answer(send, answer, ())
            return ACCEPTED
        replies = self._replies.get(answer)
        if replies is None:
            replies = self._replies[answer] = _messages(answer, ())
        await send(replies[0])
        await send(replies[1])
        return ACCEPTED


def _messages(answer: bytes, extra: tuple[tuple[bytes, bytes], ...]) -> tuple[Message, Message]:
    """The http.response.start and http.response.body messages of a 202 with `answer`."""
    headers = [_CONTENT_TYPE, *extra, (b"content-length", b"%d" % len(answer))]
    return (
        {"type": "http.response.start", "status": ACCEPTED, "headers": headers},
        {"type": "http.response.body", "body": answer},
    )


async def _send_answer(send: Send, answer: bytes, extra: tuple[tuple[bytes, bytes], ...]) -> None:
    start, body = _messages(answer, extra)
    await send(start)
    await send(body)


async def _send_error(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    """The JSON error body of candor.server.http.errors, sent straight from the endpoint."""
    body = msgspec.json.encode({"error": code, "message": message})
    raw: list[tuple[bytes, bytes]] = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in (headers or {}).items()
    ]
    raw += [_CONTENT_TYPE, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _too_large() -> str:
    return f"the body is larger than {MAX_BODY_BYTES} bytes"


def _check_content_type(value: bytes | None) -> None:
    media = (value or b"").split(b";", 1)[0].strip().lower()
    if media != JSON_TYPE:
        raise UnsupportedMedia("send the events as Content-Type: application/json")


def _is_gzip(value: bytes) -> bool:
    encoding = value.strip().lower()
    if encoding == b"gzip":
        return True
    if encoding in (b"identity", b""):
        return False
    raise UnsupportedMedia("Content-Encoding must be gzip or absent")


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, refused (413) as soon as it passes MAX_BODY_BYTES."""
    message: Any = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")  # the usual case: it came in one piece
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(_too_large())
        return body
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise ClientGone("the client disconnected before sending its body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(_too_large())
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


def _gunzip(data: bytes) -> bytes:
    """Decode a gzip body, stopping at MAX_BODY_BYTES so a small bomb cannot grow large."""
    decoder = zlib.decompressobj(wbits=_GZIP_WBITS)
    try:
        plain = decoder.decompress(data, MAX_BODY_BYTES + 1)
    except zlib.error as error:
        raise MalformedBody(f"the gzip body cannot be decoded: {error}") from None
    if len(plain) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the decoded body is larger than {MAX_BODY_BYTES} bytes")
    if not decoder.eof or decoder.unused_data:
        raise MalformedBody("the gzip body is truncated or has trailing data")
    return plain
