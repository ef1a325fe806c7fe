"""POST /v1/event: rate limit, content checks, bounded body, validation, group commit, 202.

A raw ASGI endpoint rather than a Starlette request handler: it is the collector's hot path,
and it reads exactly the four headers it needs (Content-Type, Content-Encoding,
Content-Length, Idempotency-Key) and nothing else a client sends. The client address is used
for one thing, the in-memory rate limiter, and goes nowhere else.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from candor.schema import MAX_BODY_BYTES
from candor.server.errors import MalformedBody, PayloadTooLarge, RateLimited, UnsupportedMedia
from candor.server.idempotency import REPLAYED_HEADER, parse_key
from candor.server.validation import check_body
from candor.storage.base import Submission, utc_now

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from candor.server.commit import GroupCommitter
    from candor.server.metrics import Metrics
    from candor.server.ratelimit import RateLimiter

ACCEPTED = 202
JSON_TYPE = b"application/json"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around deflate data
_RESPONSE_HEADERS = [(b"content-type", JSON_TYPE)]


class ClientGone(MalformedBody):
    """The client closed the connection before its body arrived: no one to answer."""


class IngestEndpoint:
    """The ASGI app behind `POST /v1/event` (mounted by create_app)."""

    def __init__(
        self, committer: GroupCommitter, metrics: Metrics, limiter: RateLimiter | None
    ) -> None:
        self._committer = committer
        self._metrics = metrics
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = self._metrics
        try:
            status = await self._handle(scope, receive, send)
        except Exception as error:
            # Counted here, answered by the app's one error handler.
            metrics.request(getattr(error, "status", 500))
            raise
        metrics.request(status)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> int:
        received_at = utc_now()
        if self._limiter is not None:
            client = scope.get("client")
            wait_s = self._limiter.acquire(client[0] if client else "")
            if wait_s:
                raise RateLimited(wait_s)
        content_type = encoding = length = key = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-encoding":
                encoding = value
            elif name == b"content-length":
                length = value
            elif name == b"idempotency-key":
                key = value
        _check_content_type(content_type)
        gzipped = _is_gzip(encoding)
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise PayloadTooLarge(_too_large())
        idempotency_key = parse_key(key) if key is not None else None
        body = await _read_body(receive)
        if gzipped:
            body = _gunzip(body)
        checked = check_body(body)
        answer = checked.answer()
        metrics = self._metrics
        metrics.request_events.observe(checked.total)
        headers = _RESPONSE_HEADERS
        if checked.rows or idempotency_key is not None:
            submission = Submission(checked.rows, received_at, answer, idempotency_key)
            outcome = await self._committer.submit(submission)
            if outcome.replayed:
                # Answered as the first time; its events were counted the first time too.
                metrics.replayed += 1
                return await _accepted(send, outcome.answer, [*headers, REPLAYED_HEADER])
        metrics.events_accepted += len(checked.rows)
        for rejection in checked.rejections:
            metrics.rejected(rejection.code)
        return await _accepted(send, answer, headers)


async def _accepted(send: Send, answer: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    await send(
        {
            "type": "http.response.start",
            "status": ACCEPTED,
            "headers": [*headers, (b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})
    return ACCEPTED


def _too_large() -> str:
    return f"the body is larger than {MAX_BODY_BYTES} bytes"


def _check_content_type(value: bytes | None) -> None:
    media = (value or b"").split(b";", 1)[0].strip().lower()
    if media != JSON_TYPE:
        raise UnsupportedMedia("send the events as Content-Type: application/json")


def _is_gzip(value: bytes | None) -> bool:
    encoding = (value or b"identity").strip().lower()
    if encoding == b"gzip":
        return True
    if encoding == b"identity":
        return False
    raise UnsupportedMedia("Content-Encoding must be gzip or absent")


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, refused (413) as soon as it passes MAX_BODY_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone("the client disconnected before sending its body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(_too_large())
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
