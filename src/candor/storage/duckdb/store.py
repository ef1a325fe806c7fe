"""The default store: one embedded DuckDB file, written by the collector alone.

A commit is four calls to DuckDB: BEGIN, the idempotency keys, the events, COMMIT. Rows go in
through DuckDB's appenders (measured here: ~2 µs a row, against ~5 µs through UNNEST of
parameter lists, ~60 µs through a VALUES list and ~1.4 ms through `executemany`; an Arrow table
is a little faster for large batches but pyarrow alone adds 26 MB to the collector's memory).
Which keys are retries is decided before: a Bloom filter (`candor.storage.duckdb.key_filter`) rules
out almost every fresh key, and the few it cannot (retries, mostly) are looked up in the table
all at once, one pass per commit however many there are; the table has no index (DuckDB would
keep one in memory, ~90 bytes a key).

The rollups (`candor.storage.duckdb.rollups`) are not updated by each commit: that took two
thirds of a commit's time. Events committed after the watermark `rollup_state.folded_through`
are folded in by `fold_rollups` (`tidy`: the write loop calls it between commits; it acts about
once a second), and always before a question, before `prune`, at `close` and when the store
opens (after a crash). Commits without an explicit received_at are stamped with a commit time
that only moves forward, so the watermark splits the events exactly; rows that would land at or
before it (an import of old events) are folded in by their own commit.

DuckDB lets one process open a file for writing: the collector's store process is that
process, and the analytics ask their questions (`candor.storage.duckdb.questions`) through it
while it runs.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import duckdb

from candor.schema import FIELD_NAMES, FIELDS, UUID4_PATTERN
from candor.storage.base import (
    EXPORT_FORMATS,
    IDEMPOTENCY_WINDOW,
    Batching,
    StoreBroken,
    StoreError,
    StoreLocked,
    naive_utc,
    utc_now,
)
from candor.storage.duckdb import key_filter, questions, rollups, synthetic
from candor.storage.duckdb.memory_budget import MemoryBudget
from candor.storage.plan import MAX_COMMIT_EVENTS, CommitPlan
from candor.storage.questions import NO_FILTERS, TOP_VALUES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from datetime import datetime

    from candor.schema import Field
    from candor.storage.base import Outcome, Submission
    from candor.storage.plan import StoredRow
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

T = TypeVar("T")

log = logging.getLogger("candor.store")

URL_PREFIX = "duckdb://"
MEMORY = ":memory:"
# A temporary table for rows received at or before the rollup watermark, folded on their own.
LATE_EVENTS = "candor_late_events"
# Rollup upkeep: fold pending events in after this long, or once this many are pending, so a
# fold stays short (tens of ms) and a restart after a crash has little to catch up on.
FOLD_INTERVAL_S = 1.0
FOLD_AFTER_EVENTS = 100_000
# A writer that never calls fold_rollups (a script importing events) still folds at this size.
MAX_UNFOLDED_EVENTS = 1_000_000
_TICK = timedelta(microseconds=1)  # TIMESTAMP resolution: the step between two commit times
# DuckDB keeps up to 128 MB of freed memory by default before handing it back; a collector
# runs for months, so return it sooner, from a background thread (measured on the collector
# benchmark: peak RSS 201 → 185 MB, throughput unchanged).
ALLOCATOR_SETTINGS = {"allocator_flush_threshold": "4MB", "allocator_background_threads": "true"}
TOPS_TTL_S = 60.0  # how long a dimension's top values are reused (see _top_values)
MAX_CACHED_TOPS = 256
SLOW_BUILD_S = 0.1  # a key filter build that took longer is logged at INFO
# COPY options per export format, and received_at in CSV as ISO 8601 UTC with its Z.
EXPORT_OPTIONS = {
    "parquet": "(FORMAT parquet, COMPRESSION zstd)",
    "csv": "(FORMAT csv, HEADER true)",
}
assert set(EXPORT_OPTIONS) == set(EXPORT_FORMATS)
_CSV_RECEIVED_AT = "strftime(received_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS received_at"
READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


def _sql_type(field: Field) -> str:
    if field.pattern == UUID4_PATTERN:
        return "UUID"
    return {"string": "VARCHAR", "integer": "BIGINT", "boolean": "BOOLEAN"}[field.json_type]


def events_ddl(table: str = "events", *, temporary: bool = False) -> str:
    """The `events` table, derived from the schema: FIELD_NAMES in order, then received_at."""
    columns = [
        f"{field.name} {_sql_type(field)}{'' if field.nullable else ' NOT NULL'}"
        for field in FIELDS
    ]
    columns.append("received_at TIMESTAMP NOT NULL")  # UTC, naive; added by the collector
    kind = "TEMPORARY TABLE" if temporary else "TABLE"
    return f"CREATE {kind} IF NOT EXISTS {table} (\n  " + ",\n  ".join(columns) + "\n)"


# No primary key: `key_filter` and a lookup by key_hash tell retries apart. A key used again
# after the window gets a second row; lookups see only rows within the window, and expire_keys
# drops the old ones.
KEYS_DDL = """CREATE TABLE IF NOT EXISTS idempotency_keys (
  key VARCHAR NOT NULL,
  key_hash UBIGINT NOT NULL,
  answer BLOB NOT NULL,
  created_at TIMESTAMP NOT NULL
)"""


def path_of(url: str) -> str:
    """The file a DuckDB store URL names: a plain path, or the part after `duckdb://`."""
    return url[len(URL_PREFIX) :] if url.startswith(URL_PREFIX) else url


# Errors after which DuckDB will not go on in this process: its database is invalidated
# ("database has been invalidated because of a previous fatal error"), or the connection gone.
_FATAL = (duckdb.FatalException, duckdb.InternalException, duckdb.ConnectionException)


def _store_error(what: str, error: duckdb.Error) -> StoreError:
    """The contract's error for a DuckDB error: StoreBroken when the store must be reopened."""
    message = f"{what} failed: {_first_line(error)}"
    if isinstance(error, _FATAL) or "invalidated" in str(error):
        return StoreBroken(message)
    return StoreError(message)


P = ParamSpec("P")


def _engine_errors(
    what: str,
) -> Callable[[Callable[Concatenate[DuckDBStore, P], T]], Callable[Concatenate[DuckDBStore, P], T]]:
    """Let no DuckDB error out of a Store method: each is that call's StoreError."""

    def wrap(
        method: Callable[Concatenate[DuckDBStore, P], T],
    ) -> Callable[Concatenate[DuckDBStore, P], T]:
        def call(self: DuckDBStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return method(self, *args, **kwargs)
            except duckdb.TransactionException as error:
                if "aborted" not in str(error):
                    raise _store_error(what, error) from None
                # A transaction some failure left aborted on the writer connection, outside
                # any call's own ("Current transaction is aborted" on every call after): end
                # it and try once more. The call did nothing, as every write is atomic.
                self._end_stray_transaction()
            except duckdb.Error as error:
                raise _store_error(what, error) from None
            try:
                return method(self, *args, **kwargs)
            except duckdb.Error as error:
                raise _store_error(what, error) from None

        functools.update_wrapper(call, method)
        return call

    return wrap


class DuckDBStore:
    """An embedded DuckDB file; see `candor.storage.base.Store` for the contract."""

    # A commit costs a few milliseconds whatever it holds: take what has arrived, at once.
    batching = Batching(max_events=MAX_COMMIT_EVENTS, max_wait_s=0.0)

    def __init__(self, url: str, *, memory_limit: str | None = None) -> None:
        path = path_of(url)
        if not path:
            raise StoreError(f"no file in store URL {url!r}")
        self.path: str | None = path if path == MEMORY else os.path.abspath(path)
        self.url = URL_PREFIX + (self.path or MEMORY)
        try:
            with _private_files():
                self._con = duckdb.connect(path)
            if self.path is not None:
                _make_private(self.path)
        except duckdb.Error as error:
            problem = _open_problem(path, error)
            raise (StoreLocked if _is_lock_conflict(error) else StoreError)(problem) from None
        try:
            for name, value in ALLOCATOR_SETTINGS.items():
                self._con.execute(f"SET {name} = $1", [value])
            self._memory = MemoryBudget(self._con, memory_limit)
        except (duckdb.Error, ValueError) as error:
            self._con.close()
            raise StoreError(f"memory limit {memory_limit!r}: {_first_line(error)}") from None
        # Writes take this lock, so the collector's commits, a fold, a rollup rebuild and a
        # prune never interleave inside one connection's transaction.
        self._lock = threading.RLock()
        self._readers = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._closed = False
        self._last_stamp: datetime | None = None  # the newest commit time handed out
        self._unfolded = 0  # events committed since the last fold (at least; see _recheck)
        self._fold_due = 0.0  # time.monotonic() from which pending events should be folded
        # The highest installation number, read once per fold rather than once per question;
        # every write that may number installations forgets it (a new generation).
        self._iid_lock = threading.Lock()
        self._iid_generation = 0
        self._max_iid: int | None = None
        # Built from the table on the first keyed commit, and again when full or stale (None).
        self._key_filter: key_filter.KeyFilter | None = None
        # (column, range, filters) → (when, (its top values, whether there are more))
        self._tops: dict[tuple[str, TimeRange, Filters], tuple[float, tuple[list[str], bool]]] = {}
        try:
            self._open_tables()
        except (duckdb.Error, StoreError) as error:  # e.g. a file whose `events` is a view
            self._con.close()
            raise StoreError(f"{path} is not a Candor store: {_first_line(error)}") from None

    def _open_tables(self) -> None:
        """Create what is missing, check what is there, recover what a crash left."""
        with self._lock:
            self._run(events_ddl())
            self._upgrade_keys()
            self._run(KEYS_DDL)
            with self._memory.whole():  # a new layout rebuilds: 10 M events need ~90 MB
                rollups.create(self._con)
            self._settle()
            self._run(events_ddl(LATE_EVENTS, temporary=True))
            self._keys = self._con.appender("idempotency_keys")
            self._events = self._con.appender("events")
            self._late = self._con.appender(LATE_EVENTS)
            self._watermark = rollups.watermark(self._con)
            self._recheck()
            self.fold_rollups(force=True)  # what a crash left unfolded

    def __repr__(self) -> str:
        return f"DuckDBStore({self.url!r})"

    # ------------------------------------------------------------------ writes

    @_engine_errors("commit")
    def commit(
        self, submissions: Sequence[Submission], *, now: datetime | None = None
    ) -> list[Outcome]:
        now = naive_utc(now) if now is not None else utc_now()
        with self._lock:
            self._check_open()
            plan = CommitPlan(submissions)
            hashes = [key_filter.key_hash(key) for key in plan.keys]
            held = self._held(plan.keys, hashes, now)
            resolution = plan.resolve(held, lambda: self._stamp(now))
            fresh = [index for index, key in enumerate(plan.keys) if key not in held]
            rows = resolution.rows
            if not fresh and not rows:
                return resolution.outcomes  # nothing to store
            keys = [(plan.keys[index], hashes[index], plan.answers[index], now) for index in fresh]
            try:
                watermark = self._write(keys, rows, resolution.earliest)
            except StoreError:
                if not self._memory.lowered:
                    raise
                # Perhaps out of the halved memory limit (a large group, a fold of many late
                # rows): once more with the whole of it before the requests get a 503.
                with self._memory.whole():
                    watermark = self._write(keys, rows, resolution.earliest)
            self._remember([hashes[index] for index in fresh])
            if rows:
                self._appended(watermark, len(rows))
            self._memory.settle()
            return resolution.outcomes

    @_engine_errors("insert events")
    def insert_events(self, events: Sequence[Mapping[str, object]], received_at: datetime) -> int:
        at = naive_utc(received_at)
        rows = [(*(event[name] for name in FIELD_NAMES), at) for event in events]
        if not rows:
            return 0
        with self._lock:
            with self._transaction("insert"):
                watermark = self._store_rows(rows, at)
            self._appended(watermark, len(rows))
        return len(rows)

    @_engine_errors("prepare for commits")
    def prepare_for_commits(self) -> None:
        """Build the idempotency key filter now rather than in the first keyed commit (0.8 s a
        million keys): the collector calls this before it takes requests."""
        with self._lock:
            self._check_open()
            if self._key_filter is None:
                try:
                    self._build_key_filter(utc_now())
                except duckdb.Error as error:
                    raise _store_error("idempotency keys", error) from None

    def tidy(self) -> None:
        self.fold_rollups()  # its errors are StoreErrors already

    @_engine_errors("fold rollups")
    def fold_rollups(self, *, force: bool = False) -> int:
        """Fold committed events into the rollups when due (or now, with `force`); returns how
        many. Questions, `prune` and `close` fold first on their own, so answers are exact."""
        with self._lock:
            if not self._unfolded or self._closed:
                return 0
            due = self._unfolded >= FOLD_AFTER_EVENTS or time.monotonic() >= self._fold_due
            if not force and not due:
                return 0
            with self._transaction("fold"):
                folded, watermark = rollups.fold(self._con, self._watermark)
                self._settle()
            self._watermark, self._unfolded = watermark, 0
            self._forget_max_iid()
            return folded

    @_engine_errors("insert synthetic")
    def insert_synthetic(self, spec: SyntheticEvents) -> int:
        with self._lock:
            try:
                with self._memory.whole(), self._transaction("generate"):
                    self._run(synthetic.insert_sql(spec))
                    # Far faster than folding millions of rows in batches.
                    self._run(rollups.rebuild_sql())
                    self._settle()
            finally:
                if not self._closed:
                    self._watermark = rollups.watermark(self._con)
                    self._recheck()
        return spec.events  # the statement inserts exactly that many

    @_engine_errors("execute")
    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one write statement in its own transaction: DuckDB's alone, for tests and
        tools (not part of the Store contract)."""
        with self._lock:
            try:
                with self._memory.whole(), self._transaction("statement"):
                    self._run(sql, params)
            finally:
                # Anything may have changed (events or keys added, rollups rebuilt): read it again.
                if not self._closed:
                    self._watermark = rollups.watermark(self._con)
                    self._recheck()
                    self._key_filter = None

    @_engine_errors("prune")
    def prune(self, before: datetime) -> int:
        before = naive_utc(before)
        with self._lock:
            self.fold_rollups(force=True)  # pruned events must have been counted first
            with self._memory.whole(), self._transaction("prune"):
                deleted = self._run("DELETE FROM events WHERE received_at < $1", [before])
                rollups.prune(self._con, before)  # the same retention for the aggregates
                self._forget_max_iid()
                self._settle()
        return int(deleted[0][0]) if deleted else 0

    @_engine_errors("expire keys")
    def expire_keys(self, before: datetime) -> int:
        with self._lock, self._transaction("expire"):
            deleted = self._run(
                "DELETE FROM idempotency_keys WHERE created_at < $1", [naive_utc(before)]
            )
        return int(deleted[0][0]) if deleted else 0

    # ------------------------------------------------------------------ reads

    @_engine_errors("lookup answer")
    def lookup_answer(self, key: str, *, now: datetime | None = None) -> bytes | None:
        now = naive_utc(now) if now is not None else utc_now()
        with self._lock:
            self._check_open()
            return self._held([key], [key_filter.key_hash(key)], now).get(key)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (SELECT/EXPLAIN) over DuckDB's own tables.

        DuckDB's alone, for tests and tools that inspect a file: not part of the Store
        contract, and nothing in candor outside this package calls it. It reads the tables
        as they are: the rollups count committed events once `fold_rollups` has run.
        """
        return self._answer(lambda: self._read(sql, params))

    @_engine_errors("count events")
    def count_events(self, start: datetime | None = None, end: datetime | None = None) -> int:
        conditions, params = ["TRUE"], []
        if start is not None:
            conditions.append("received_at >= ?")
            params.append(naive_utc(start))
        if end is not None:
            conditions.append("received_at < ?")
            params.append(naive_utc(end))
        sql = f"SELECT count(*) FROM events WHERE {' AND '.join(conditions)}"
        return int(self._answer(lambda: self._read(sql, params))[0][0])

    @_engine_errors("export events")
    def export_events(self, path: str, fmt: str, time_range: TimeRange | None = None) -> int:
        if fmt not in EXPORT_OPTIONS:
            raise ValueError(f"export format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")
        where, params = "TRUE", []
        if time_range is not None:
            where = "received_at >= ? AND received_at < ?"
            params = [time_range.start_time, time_range.end_time]
        columns = ", ".join(
            name if name != "received_at" or fmt != "csv" else _CSV_RECEIVED_AT
            for name in (*FIELD_NAMES, "received_at")
        )
        target = path.replace("'", "''")
        with self._lock:
            self._check_open()
            try:
                with self._memory.whole():
                    ((count,),) = self._run(f"SELECT count(*) FROM events WHERE {where}", params)
                    self._run(
                        f"COPY (SELECT {columns} FROM events WHERE {where} ORDER BY received_at) "
                        f"TO '{target}' {EXPORT_OPTIONS[fmt]}",
                        params,
                    )
            except duckdb.Error as error:
                raise _store_error("export", error) from None
        return int(count)

    # The analytics questions: candor.storage.questions says what each answers.

    def usage_totals(self, time_range: TimeRange, filters: Filters) -> Totals:
        return self._ask(questions.usage_totals, time_range, filters)

    def command_counts(self, time_range: TimeRange, filters: Filters) -> Breakdown:
        return self._ask(questions.command_counts, time_range, filters)

    def duration_percentiles(
        self, time_range: TimeRange, filters: Filters, *, by_version: bool
    ) -> list[Percentiles]:
        return self._ask(
            lambda scope: questions.duration_percentiles(scope, by_version=by_version),
            time_range,
            filters,
        )

    def error_counts(self, time_range: TimeRange, filters: Filters) -> ErrorCounts:
        return self._ask(questions.error_counts, time_range, filters)

    def installation_counts(self, time_range: TimeRange, filters: Filters) -> InstallationCounts:
        return self._ask(questions.installation_counts, time_range, filters)

    def version_counts(self, time_range: TimeRange, filters: Filters) -> VersionCounts:
        return self._ask(questions.version_counts, time_range, filters)

    def platform_counts(self, time_range: TimeRange, filters: Filters) -> PlatformCounts:
        return self._ask(questions.platform_counts, time_range, filters)

    def dimension_values(self, time_range: TimeRange) -> DimensionValues:
        return self._ask(questions.dimension_values, time_range, NO_FILTERS)

    def _ask(
        self, question: Callable[[questions.Scope], T], time_range: TimeRange, filters: Filters
    ) -> T:
        """Answer one question over the rollups, every committed event folded in first."""

        def answer() -> T:
            if self._unfolded:
                self.fold_rollups(force=True)  # so the answers count every event
            max_iid = self._highest_iid()

            def tops(column: str) -> tuple[list[str], bool]:
                return self._top_values(column, time_range, filters)

            return question(questions.Scope(self._read, time_range, filters, max_iid, tops))

        return self._answer(answer)

    def _top_values(
        self, column: str, time_range: TimeRange, filters: Filters
    ) -> tuple[list[str], bool]:
        """The most used values of `column` in the scope (at most its TOP_VALUES), and whether
        there are others. Kept TOPS_TTL_S: a list a little stale only moves a new value in or
        out of OTHER, and every count stays exact."""
        key = (column, time_range, filters)
        now = time.monotonic()
        cached = self._tops.get(key)
        if cached is not None and now - cached[0] < TOPS_TTL_S:
            return cached[1]
        rows = questions.top_values(self._read, time_range, filters, column)
        limit = TOP_VALUES[column]
        found = ([str(value) for value, _ in rows[:limit]], len(rows) > limit)
        if len(self._tops) >= MAX_CACHED_TOPS:
            self._tops.clear()
        self._tops[key] = (now, found)
        return found

    def _answer(self, read: Callable[[], T]) -> T:
        """Run `read` with the whole memory budget; a DuckDB error becomes a StoreError."""
        try:
            with self._memory.whole():
                return read()
        except duckdb.Error as error:
            raise _store_error("query", error) from None

    def ping(self) -> None:
        try:
            self._read("SELECT 1", ())  # not worth the query memory: /healthz calls it often
        except duckdb.Error as error:
            raise _store_error("ping", error) from None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            with contextlib.suppress(StoreError):
                self.fold_rollups(force=True)  # else the next open folds them
            self._closed = True
            with contextlib.suppress(duckdb.Error):  # a broken engine: nothing left to flush
                for cursor in self._cursors:
                    cursor.close()
                self._memory.close()
            with contextlib.suppress(duckdb.Error):
                self._con.close()

    # ------------------------------------------------------------------ internals

    def _write(
        self, keys: list[tuple[Any, ...]], rows: list[StoredRow], earliest: datetime | None
    ) -> datetime | None:
        """One commit's transaction: its fresh keys, its rows; the new rollup watermark if the
        rows had to be folded at once (see _store_rows)."""
        with self._transaction("commit"):
            if keys:
                with self._appending():
                    self._keys.append_rows(keys)
                    self._keys.flush()
            return self._store_rows(rows, earliest) if rows else None

    def _stamp(self, now: datetime) -> datetime:
        """This commit's received_at: `now`, or just after the previous one if the clock has
        not moved on (or went back), so commit times strictly increase."""
        last = self._last_stamp
        stamp = now if last is None or now > last else last + _TICK
        self._last_stamp = stamp
        return stamp

    def _store_rows(self, rows: list[StoredRow], earliest: datetime | None) -> datetime | None:
        """Append rows in the open transaction. Rows later than the watermark wait for the next
        fold; if any is not, everything is folded here. Returns the new watermark, or None."""
        if not self._is_late(earliest):
            with self._appending():
                self._events.append_rows(rows)
                self._events.flush()
            return None
        _, watermark = rollups.fold(self._con, self._watermark)  # what was pending before
        with self._appending():
            self._late.append_rows(rows)
            self._late.flush()
        self._run(f"INSERT INTO events SELECT * FROM {LATE_EVENTS}")
        rollups.update(self._con, LATE_EVENTS)
        self._settle()
        latest: datetime = max(row[-1] for row in rows)
        watermark = latest if watermark is None else max(watermark, latest)
        self._run("UPDATE rollup_state SET folded_through = $1", [watermark])
        self._run(f"DELETE FROM {LATE_EVENTS}")
        return watermark

    def _is_late(self, earliest: datetime | None) -> bool:
        """Whether rows from `earliest` on would fall at or before the rollup watermark."""
        return earliest is not None and self._watermark is not None and earliest <= self._watermark

    @contextlib.contextmanager
    def _appending(self) -> Iterator[None]:
        """Drop what the appenders buffered if appending fails (the transaction rolls back)."""
        try:
            yield
        except BaseException:
            for appender in (self._keys, self._events, self._late):
                appender.clear()
            raise

    def _appended(self, watermark: datetime | None, count: int) -> None:
        """After a committed append: track what is pending, fold if a writer lets it pile up."""
        if watermark is not None:
            self._watermark, self._unfolded = watermark, 0
            self._forget_max_iid()
            return
        if not self._unfolded:
            self._fold_due = time.monotonic() + FOLD_INTERVAL_S
        self._unfolded += count
        if self._unfolded >= MAX_UNFOLDED_EVENTS:
            self.fold_rollups(force=True)

    def _recheck(self) -> None:
        """Assume events may be pending (after an open or an arbitrary statement): the next
        fold or rollup query finds out."""
        self._unfolded = max(self._unfolded, 1)
        self._fold_due = time.monotonic()
        self._forget_max_iid()

    def _forget_max_iid(self) -> None:
        with self._iid_lock:
            self._iid_generation += 1
            self._max_iid = None

    def _highest_iid(self) -> int:
        """The highest installation number folded (cached until the next fold)."""
        with self._iid_lock:
            if self._max_iid is not None:
                return self._max_iid
            generation = self._iid_generation
        ((found,),) = self._read("SELECT coalesce(max(iid), 0) FROM rollup_installations", ())
        with self._iid_lock:
            if generation == self._iid_generation:  # no fold meanwhile: still the highest
                self._max_iid = int(found)
        return int(found)

    def _end_stray_transaction(self) -> None:
        with self._lock, contextlib.suppress(duckdb.Error):
            self._con.execute("ROLLBACK").fetchall()
        log.warning("rolled back a transaction a failure had left aborted")

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.url} is closed")

    def _reader(self) -> duckdb.DuckDBPyConnection:
        """This thread's own cursor: DuckDB connections must not be shared across threads."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._readers, "cursor", None)
        if cursor is None:
            with self._lock:
                self._check_open()
                cursor = self._con.cursor()
                self._cursors.append(cursor)
            self._readers.cursor = cursor
        elif self._closed:
            self._check_open()
        return cursor

    def _read(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """One read-only statement on this thread's cursor."""
        cursor = self._reader()
        statements = cursor.extract_statements(sql)
        if len(statements) != 1 or statements[0].type not in READ_ONLY_STATEMENTS:
            raise StoreError("query() runs exactly one SELECT or EXPLAIN statement")
        return cursor.execute(sql, list(params)).fetchall()

    def _run(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Execute on the writer connection and drain the result, as DuckDB 2 requires
        before the connection's next statement."""
        return self._con.execute(sql, list(params)).fetchall()

    def _transaction(self, what: str) -> _Transaction:
        self._check_open()
        return _Transaction(self._con, what)

    def _held(self, keys: list[str], hashes: list[int], now: datetime) -> dict[str, bytes]:
        """The remembered answers of those `keys` (with their key_hash) held within the window.

        DuckDB errors go up to the calling method (its StoreError)."""
        if not keys:
            return {}
        known = self._key_filter or self._build_key_filter(now)
        pairs = zip(keys, hashes, strict=True)
        maybe = {key: hashed for key, hashed in pairs if known.may_hold(hashed)}
        if not maybe:
            return {}
        # Retries (and a rare false "maybe"): all of the group's in ONE pass over the
        # keys, however many there are (a hash join: measured with 136 k keys stored, 50
        # retries took 85 ms one scan each, 6 ms together).
        wanted = list(maybe.values())
        since = now - IDEMPOTENCY_WINDOW
        # The cast matters: a Python int above 2**63 is no UBIGINT to DuckDB, and a
        # comparison across types is not pushed into the scan (one key: 1.35 → 0.8 ms).
        match = (
            "key_hash = $1::UBIGINT"
            if len(wanted) == 1
            else "key_hash IN (SELECT unnest($1::UBIGINT[]))"
        )
        found = self._run(
            f"SELECT key, answer FROM idempotency_keys WHERE created_at >= $2 AND {match}",
            [wanted[0] if len(wanted) == 1 else wanted, since],
        )
        return {key: bytes(answer) for key, answer in found if key in maybe}

    def _build_key_filter(self, now: datetime) -> key_filter.KeyFilter:
        started = time.perf_counter()
        since = now - IDEMPOTENCY_WINDOW
        live_sql = "SELECT count(*) FROM idempotency_keys WHERE created_at >= $1"
        ((live,),) = self._run(live_sql, [since])
        known = key_filter.KeyFilter(key_filter.capacity_for(live), live)
        for number in range(known.slices):
            ((bits,),) = self._run(known.slice_sql("idempotency_keys", number), [since])
            known.set_slice(number, bits)
        self._key_filter = known
        seconds = time.perf_counter() - started  # commits wait meanwhile: say so when it shows
        log.log(
            logging.INFO if seconds >= SLOW_BUILD_S else logging.DEBUG,
            "idempotency key filter built for %d keys (room for %d) in %.2f s",
            live, known.capacity, seconds,
        )  # fmt: skip
        return known

    def _remember(self, hashes: list[int]) -> None:
        """Add committed keys to the filter; a full one is rebuilt from the live keys when next
        used."""
        known = self._key_filter
        if known is None:
            return
        for hashed in hashes:
            known.add(hashed)
        if known.full:
            self._key_filter = None

    def _upgrade_keys(self) -> None:
        """Give the keys of a store made before key_filter a key_hash column and no index."""
        columns = self._run(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'idempotency_keys'"
        )
        if not columns or ("key_hash",) in columns:
            return
        with self._transaction("upgrade"):
            self._run("ALTER TABLE idempotency_keys RENAME TO idempotency_keys_before")
            self._run(KEYS_DDL)
            self._run(
                f"INSERT INTO idempotency_keys SELECT key, {key_filter.HASH_SQL}, answer, "
                "created_at FROM idempotency_keys_before"
            )
            self._run("DROP TABLE idempotency_keys_before")

    def _settle(self) -> None:
        """Run any result left open (rollups does not drain its last one) to its end.

        DuckDB 2 refuses some calls while a result of execute() is unfinished.
        """
        complete = getattr(self._con, "complete", None)  # absent before DuckDB 2
        if complete is not None:
            complete()


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK and a StoreError on any DuckDB error."""

    __slots__ = ("_con", "_what")

    def __init__(self, con: duckdb.DuckDBPyConnection, what: str) -> None:
        self._con = con
        self._what = what

    def __enter__(self) -> None:
        try:
            self._con.execute("BEGIN TRANSACTION").fetchall()
        except duckdb.TransactionException:
            # A transaction some failure left open (or aborted) on this connection: end it
            # rather than fail every write from now on ("Current transaction is aborted").
            self.rollback()
            self._con.execute("BEGIN TRANSACTION").fetchall()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: object
    ) -> None:
        if kind is None:
            try:
                self._con.execute("COMMIT").fetchall()
            except duckdb.Error as failure:
                self.rollback()
                raise _store_error(self._what, failure) from None
            return
        self.rollback()
        if isinstance(error, duckdb.Error):
            raise _store_error(self._what, error) from None

    def rollback(self) -> None:
        # Nothing may be open any more (DuckDB aborted it already): then nothing to undo.
        with contextlib.suppress(duckdb.Error):
            self._con.execute("ROLLBACK").fetchall()


# The store and its write-ahead log hold installation IDs: owner only (issue #9).
PRIVATE_MODE = 0o600
_PRIVATE_UMASK = 0o077


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    """Files created meanwhile (the database, its WAL) are readable by their owner only.

    The umask is the process's, so only while the store opens: the collector's store
    process sets it for good (its WAL comes and goes with checkpoints)."""
    previous = os.umask(_PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def _make_private(path: str) -> None:
    """Tighten a store made before (or by another umask): the file and its WAL, if any."""
    for name in (path, path + ".wal"):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(name).st_mode & 0o777 != PRIVATE_MODE:
                os.chmod(name, PRIVATE_MODE)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _is_lock_conflict(error: duckdb.Error) -> bool:
    return "lock" in str(error).lower()


def _open_problem(path: str, error: duckdb.Error) -> str:
    if _is_lock_conflict(error):
        return (
            f"the store {path} is open in another process (a running collector?): "
            "stop it, or read through its API"
        )
    return f"cannot open the store {path}: {_first_line(error)}"
