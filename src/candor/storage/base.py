"""The store contract every backend implements, and the one error it raises.

A store holds the events and the idempotency answers of the last 24 hours, and answers the
analytics questions of `candor.storage.questions`. It speaks the domain: no SQL crosses this
interface and nothing outside `candor.storage` names a table. The collector's store process
is its single writer; the analytics ask the same object, from any thread.

Error tree::

    StoreError          the store cannot be opened, reached or written (the server answers 503)
    ├── StoreLocked     another process holds the store's file (a running collector?)
    └── StoreBroken     the engine must be reopened (the collector restarts its store process)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from candor.storage.questions import (
        Breakdown,
        DimensionValues,
        ErrorCounts,
        Filters,
        InstallationCounts,
        Percentiles,
        PlatformCounts,
        TimeRange,
        Totals,
        VersionCounts,
    )
    from candor.storage.synthetic import SyntheticEvents

# How long an Idempotency-Key's answer is replayed: a client retries a lost answer within
# minutes, and the window is published, so a longer one would only hold more keys.
IDEMPOTENCY_WINDOW = timedelta(hours=24)

# What an Idempotency-Key may hold (hex digits, UUIDs, ULIDs...): nothing that needs quoting,
# so a store may put keys in its SQL as literals and get an index lookup instead of a scan.
IDEMPOTENCY_KEY_PATTERN = r"[A-Za-z0-9._:-]{1,255}"

# What `export_events` writes.
EXPORT_FORMATS = ("csv", "parquet")

# One accepted event: its values in `candor.schema.FIELD_NAMES` order.
Row = tuple[Any, ...]


class StoreError(Exception):
    """The store cannot be opened, reached or written; the message is one readable line."""


class StoreLocked(StoreError):
    """Another process has the store's file open for writing; it may let go (a restart)."""


class StoreBroken(StoreError):
    """The engine cannot go on in this process (DuckDB invalidated its database after a fatal
    error): this call failed, and the store must be closed and opened again. The collector's
    store process then exits, and the collector starts a new one, which recovers from the
    write-ahead log everything committed before."""


class Batching(NamedTuple):
    """How a store wants its group commits: the write loop commits a group once it holds
    `max_events` events, or `max_requests` requests (None: no such bound), or `max_wait_s`
    after its first request arrived, whichever comes first (0: at once, with whatever has
    arrived meanwhile). Every request is answered only after its group's commit returned."""

    max_events: int
    max_wait_s: float
    max_requests: int | None = None


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

    This docstring and `candor.storage.questions` are the whole contract: a backend is a class
    with these methods (and `__init__(url, *, memory_limit=None)`), registered in `STORES`.
    `tests/storage/test_store_contract.py` checks every method on every backend.

    What a store holds: the events (the nine fields of `candor.schema`, in `FIELD_NAMES`
    order, plus `received_at`, naive UTC), the idempotency answers of the last
    `IDEMPOTENCY_WINDOW`, and whatever it keeps to answer the questions fast. Nothing else.

    Rules for every method:

    - Safe to call from any thread; writes are serialised by the store.
    - Every failure of the engine (unreachable, refused, out of memory, a broken file) is a
      `StoreError` with a one-line message, raised by the one call it concerns; the store
      stays usable for the next call when the engine does. Nothing else escapes, except
      ValueError for arguments outside this contract (a row that breaks the schema's types).
    - A write either happens whole or not at all.
    - Datetimes passed in may be aware (converted to UTC) or naive (taken as UTC); datetimes
      returned are naive UTC.
    """

    url: str  # the URL it was opened with, normalised (e.g. duckdb:///abs/path.duckdb)
    path: str | None  # the local file, for embedded stores; None for a server
    batching: Batching  # how the collector's write loop should group its commits

    # ------------------------------------------------------------------ writes

    def commit(
        self, submissions: Sequence[Submission], *, now: datetime | None = None
    ) -> list[Outcome]:
        """Store many requests' events and remember their keys' answers, all or nothing.

        A submission whose key was committed within `IDEMPOTENCY_WINDOW` before `now` (or
        earlier in the same call) stores nothing and gets the remembered answer back
        (`replayed`). A submission without received_at gets the commit's time, which is
        strictly later than the previous commit's. Returns one outcome per submission, in
        order; raises StoreError with nothing stored. Known keys must be found without a scan
        per key (an index, a filter, a bulk lookup): retries are the common case after an
        outage. `candor.storage.plan.CommitPlan` does the backend-free half.
        """
        ...

    def lookup_answer(self, key: str, *, now: datetime | None = None) -> bytes | None:
        """The answer remembered for `key` within the idempotency window, or None."""
        ...

    def tidy(self) -> None:
        """Do work the store deferred from its commits, if it is due (DuckDB folds new events
        into its rollups about once a second). The write loop calls it between commits; a
        store with nothing to defer does nothing. Questions never depend on it being called.
        """
        ...

    def insert_events(self, events: Sequence[Mapping[str, object]], received_at: datetime) -> int:
        """Bulk-insert already valid events (dicts keyed by FIELD_NAMES); returns the count."""
        ...

    def insert_synthetic(self, spec: SyntheticEvents) -> int:
        """Add the synthetic events `spec` describes (`candor.storage.synthetic`: the same seed
        gives the same events on every backend); returns how many were added."""
        ...

    def prune(self, before: datetime) -> int:
        """Delete the events received before `before`, and whatever the store keeps of them
        (its aggregates of the days wholly before it); returns how many events went."""
        ...

    def expire_keys(self, before: datetime) -> int:
        """Forget idempotency answers created before `before`; returns how many."""
        ...

    # ------------------------------------------------------------------ reads

    def count_events(self, start: datetime | None = None, end: datetime | None = None) -> int:
        """How many events were received in [start, end) (None: unbounded on that side)."""
        ...

    def export_events(self, path: str, fmt: str, time_range: TimeRange | None = None) -> int:
        """Write the events (FIELD_NAMES then received_at, oldest first) of `time_range` (None:
        all) to the file `path`, replacing it; `fmt` is one of EXPORT_FORMATS. Parquet keeps
        the column types; CSV has a header row and ISO 8601 UTC times ending in Z. Returns how
        many events were written."""
        ...

    # The analytics questions (see `candor.storage.questions` for the definitions).

    def usage_totals(self, time_range: TimeRange, filters: Filters) -> Totals:
        """Events, failures, installations, new installations, interactive events, commands."""
        ...

    def command_counts(self, time_range: TimeRange, filters: Filters) -> Breakdown:
        """Events and installations per command (top values + OTHER), and over all commands."""
        ...

    def duration_percentiles(
        self, time_range: TimeRange, filters: Filters, *, by_version: bool
    ) -> list[Percentiles]:
        """Nearest-rank p50/p90/p99 and max duration per command, or per command and
        cli_version (`by_version`; both dimensions top values + OTHER)."""
        ...

    def error_counts(self, time_range: TimeRange, filters: Filters) -> ErrorCounts:
        """Failures per error_code, per command and error_code (events, installations); events,
        failures and installations failing per command and per cli_version."""
        ...

    def installation_counts(self, time_range: TimeRange, filters: Filters) -> InstallationCounts:
        """Active and new installations per day; active installations per week."""
        ...

    def version_counts(self, time_range: TimeRange, filters: Filters) -> VersionCounts:
        """Installations per day and cli_version, per day, per cli_version (with its first day
        in the range), and over the range."""
        ...

    def platform_counts(self, time_range: TimeRange, filters: Filters) -> PlatformCounts:
        """Events and installations per os_arch, per interactive/CI, and in total."""
        ...

    def dimension_values(self, time_range: TimeRange) -> DimensionValues:
        """Every command, cli_version and os_arch seen in the range, most events first."""
        ...

    # ------------------------------------------------------------------ lifecycle

    def ping(self) -> None:
        """Raise StoreError unless the store answers; cheap, and never waits behind a query."""
        ...

    def close(self) -> None:
        """Flush and release the store; calling it twice is harmless. Any later call but
        close is a StoreError."""
        ...


def naive_utc(moment: datetime) -> datetime:
    """`moment` as a naive UTC datetime, the form TIMESTAMP columns hold (naive means UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def utc_now() -> datetime:
    """The current time as a naive UTC datetime."""
    return datetime.now(UTC).replace(tzinfo=None)
