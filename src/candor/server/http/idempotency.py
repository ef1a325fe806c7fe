"""Idempotency-Key: a retried request is answered as before and stores nothing new.

The sender puts a random key on each batch and keeps it for every retry of that batch. The
answer to the first request is committed in the same transaction as its events (see
`Store.commit`), so it survives a restart, and a retry within `IDEMPOTENCY_WINDOW` (24 h) gets
the stored answer with the `Idempotent-Replayed: true` header. Keys are looked up inside the
group commit, once per commit for all its requests, not once per request: two concurrent
requests with one key are serialised by the single writer, and the later one is a replay.
Keys older than the window are deleted by the daily maintenance task.
"""

from __future__ import annotations

import re

from candor.server.http.errors import MalformedBody
from candor.storage.base import IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_WINDOW

REPLAYED_HEADER = (b"idempotent-replayed", b"true")
MAX_KEY_LENGTH = 255  # the sender's keys are 32 hex digits; room for other clients' UUIDs
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN.encode())

__all__ = ["IDEMPOTENCY_WINDOW", "MAX_KEY_LENGTH", "REPLAYED_HEADER", "parse_key"]


def parse_key(raw: bytes) -> str:
    """The Idempotency-Key header as text: 1-255 of A-Z a-z 0-9 . _ : -, else a 400."""
    if len(raw) > MAX_KEY_LENGTH or _KEY.fullmatch(raw) is None:
        raise MalformedBody(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters among "
            "letters, digits and . _ : -"
        )
    return raw.decode("ascii")
