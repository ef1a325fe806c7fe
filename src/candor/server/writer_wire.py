"""What the collector and its store process say to each other on the commit stream.

The stream is a socket pair. Each message is a frame: 4 bytes of length (little-endian), then
a MessagePack body. The collector sends one frame per accepted request (its events, answer and
Idempotency-Key); the store process answers each group commit with one frame that says how
many of the oldest unanswered requests it settles, and how. Frames are answered in the order
they were sent, so a reply needs no request ids.

MessagePack through msgspec: a single-event submission encodes in about a microsecond, on
the event loop's hot path; pickle takes several.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from candor.storage.base import Submission

HEADER = struct.Struct("<I")
HEADER_SIZE = HEADER.size

# How a group commit ended (Reply.failure).
COMMITTED = 0
STORE_FAILED = 1  # StoreError: the store refused the commit (the collector answers 503)
BUG = 2  # any other exception: a bug (the collector answers 500 and logs it)


class Reply(msgspec.Struct, array_like=True):
    """The outcome of one group commit, for its `count` requests."""

    count: int  # the requests it settles: the oldest ones not yet answered
    events: int = 0  # events stored
    seconds: float = 0.0  # how long the commit took
    # (position in the group, remembered answer) of each request answered as a replay
    replays: list[tuple[int, bytes]] = []
    failure: int = COMMITTED
    message: str = ""  # why it failed (failure != COMMITTED)


_encode = msgspec.msgpack.Encoder().encode
_decode_submission = msgspec.msgpack.Decoder(tuple[list[tuple[Any, ...]], bytes, str | None]).decode
_decode_reply = msgspec.msgpack.Decoder(Reply).decode


def submission_frame(submission: Submission) -> bytes:
    """One request's frame. The collector's submissions carry no received_at (stamped at commit)."""
    body = _encode((submission.events, submission.answer, submission.key))
    return HEADER.pack(len(body)) + body


def read_submission(body: bytes | memoryview) -> tuple[list[tuple[Any, ...]], bytes, str | None]:
    """(rows, answer, key) from a submission frame's body."""
    return _decode_submission(body)


def reply_frame(reply: Reply) -> bytes:
    body = _encode(reply)
    return HEADER.pack(len(body)) + body


def read_reply(body: bytes) -> Reply:
    return _decode_reply(body)
