"""The store contract every backend implements, and the one error it raises.

A store holds two things: the `events` table (the nine fields of `candor.schema` plus
`received_at`) and the idempotency answers of the last 24 hours. The collector is its single
writer; the analytics read through the same object (`query`), from any thread.

Error tree::

    StoreError          the store cannot be opened, reached or written (the server answers 503)
    └── StoreLocked     another process holds the store's file (a running collector?)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# How long an Idempotency-Key's answer is replayed: a client retries a lost answer within
# minutes, and the window is published, so a longer one would only hold more keys.
IDEMPOTENCY_WINDOW = timedelta(hours=24)

# What an Idempotency-Key may hold (hex digits, UUIDs, ULIDs...): nothing that needs quoting,
# so a store may put keys in its SQL as literals and get an index lookup instead of a scan.
IDEMPOTENCY_KEY_PATTERN = r"[A-Za-z0-9._:-]{1,255}"

# One accepted event: its values in `candor.schema.FIELD_NAMES` order.
Row = tuple[Any, ...]


class StoreError(Exception):
    """The store cannot be opened, reached or written; the message is one readable line."""


class StoreLocked(StoreError):
    """Another process has the store's file open for writing; it may let go (a restart)."""


class Submission:
    """One request's share of a group commit: its accepted events and the answer it will get.

    `answer` is the exact 2xx body sent to the client; with a `key` it is remembered, so a
    retry with the same key within `IDEMPOTENCY_WINDOW` gets it again and stores nothing.
    """

    __slots__ = ("answer", "events", "key", "received_at")

    def __init__(
        self,
        events: Sequence[Row],
        received_at: datetime | None,
        answer: bytes,
        key: str | None = None,
    ) -> None:
        self.events = events
        # UTC. None (the collector's case): the store stamps the commit's time, which it keeps
        # strictly increasing from one commit to the next, so `received_at` orders commits.
        self.received_at = received_at
        self.answer = answer
        self.key = key


class Outcome:
    """What a commit did with one submission: the answer to send and whether it is a replay."""

    __slots__ = ("answer", "replayed")

    def __init__(self, answer: bytes, *, replayed: bool) -> None:
        self.answer = answer
        self.replayed = replayed  # True: the key was seen before, nothing new was stored

    def __repr__(self) -> str:
        return f"Outcome(replayed={self.replayed}, answer={self.answer!r})"


class Store(Protocol):
    """A place for events. Open one with `candor.storage.open_store(url)`.

    Every method is safe to call from any thread. Writes (`commit`, `execute`,
    `insert_events`, `prune`, `expire_keys`) are serialised by the store's writer lock.
    """

    url: str  # the URL it was opened with, normalised (e.g. duckdb:///abs/path.duckdb)
    path: str | None  # the local file, for embedded stores; None for a server

    def commit(
        self, submissions: Sequence[Submission], *, now: datetime | None = None
    ) -> list[Outcome]:
        """Store many requests' events and remember their keys' answers in ONE transaction.

        A submission whose key was committed within `IDEMPOTENCY_WINDOW` before `now` (or
        earlier in the same call) stores nothing and gets the remembered answer back. Returns
        one outcome per submission, in order; raises StoreError with nothing stored.
        """
        ...

    def fold_rollups(self, *, force: bool = False) -> int:
        """Bring the rollups up to date with the committed events; returns the events folded.

        Commits leave that work for later so they stay short: call this between commits (it
        folds only when enough is pending or enough time has passed, unless `force`). Queries
        that read a rollup, `prune` and `close` fold first on their own, so answers are exact.
        """
        ...

    def lookup_answer(self, key: str, *, now: datetime | None = None) -> bytes | None:
        """The answer remembered for `key` within the idempotency window, or None."""
        ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (SELECT/EXPLAIN); anything else is a StoreError."""
        ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one write statement in its own transaction under the writer lock."""
        ...

    def insert_events(self, events: Sequence[Mapping[str, object]], received_at: datetime) -> int:
        """Bulk-insert already valid events (dicts keyed by FIELD_NAMES); returns the count."""
        ...

    def prune(self, before: datetime) -> int:
        """Delete raw events received before `before`; returns how many were deleted."""
        ...

    def expire_keys(self, before: datetime) -> int:
        """Forget idempotency answers created before `before`; returns how many."""
        ...

    def ping(self) -> None:
        """Raise StoreError unless the store answers a trivial query."""
        ...

    def close(self) -> None:
        """Flush and release the store; calling it twice is harmless."""
        ...


def naive_utc(moment: datetime) -> datetime:
    """`moment` as a naive UTC datetime, the form TIMESTAMP columns hold (naive means UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def utc_now() -> datetime:
    """The current time as a naive UTC datetime."""
    return datetime.now(UTC).replace(tzinfo=None)
