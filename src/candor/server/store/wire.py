"""What the collector and its store process say to each other: the one protocol.

Two kinds of connection, both socket pairs the collector makes when it starts the process:

- the commit stream. Each message is a frame: 4 bytes of length (little-endian), then a
  MessagePack body. The collector sends one frame per accepted request (its events, answer
  and Idempotency-Key); the store process answers each group commit with one `Reply` frame
  that says how many of the oldest unanswered requests it settles, and how. Frames are
  answered in the order they were sent, so a reply needs no request ids.
- control connections (`multiprocessing.connection`): every other Store method as a call
  `(method, args, kwargs)`, answered `(status, value)`. Arguments and results are the
  contract's own types (dates, question rows), which pickle keeps as they are.

Both answer with the same three-way `Status`: done; the store refused (`StoreError`: the
collector answers 503 and the client retries); a bug (any other exception: 500, logged).

MessagePack through msgspec on the stream: a single-event submission encodes in about a
microsecond, on the event loop's hot path; pickle takes several.
"""

from __future__ import annotations

import enum
import struct
from typing import TYPE_CHECKING, Any

import msgspec

from candor.storage.base import StoreError

if TYPE_CHECKING:
    from candor.storage.base import Submission

HEADER = struct.Struct("<I")
HEADER_SIZE = HEADER.size


class Status(enum.IntEnum):
    """How a commit or a call ended."""

    DONE = 0
    STORE_FAILED = 1  # StoreError: the store refused; the message says why
    BUG = 2  # any other exception: the store process logged its traceback


class Reply(msgspec.Struct, array_like=True):
    """The outcome of one group commit, for its `count` requests."""

    count: int  # the requests it settles: the oldest ones not yet answered
    events: int = 0  # events stored
    seconds: float = 0.0  # how long the commit took
    # (position in the group, remembered answer) of each request answered as a replay
    replays: list[tuple[int, bytes]] = []
    status: Status = Status.DONE
    message: str = ""  # why it failed (status != DONE)


def failure(status: Status, message: str) -> Exception:
    """The exception a failed commit or call raises on the collector's side."""
    if status == Status.STORE_FAILED:
        return StoreError(message)
    return RuntimeError(f"the store process failed: {message}")


def result(answer: tuple[int, Any]) -> Any:
    """The value of a control call's `(status, value)` answer, or its exception raised."""
    status, value = answer
    if status == Status.DONE:
        return value
    raise failure(Status(status), str(value))


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
