"""`ClickHouseStore`: the store contract (candor.storage.base) on a ClickHouse server or chDB.

Writes: a commit is one INSERT of the group's events (few, large inserts are what ClickHouse
wants; the collector groups requests for up to a second), then one INSERT of its idempotency
keys. Reads: every answer is computed by the server (candor.storage.clickhouse.questions).

Idempotency across collectors lives in ClickHouse itself, in `idempotency_keys`: a commit first
asks which of its keys any collector has stored within IDEMPOTENCY_WINDOW and replays those.
So a retry that reaches any collector after the first commit of its key finished is answered
from there and stores nothing. Two copies of one batch whose commits overlap in time (sent to
two collectors at the same instant, both inside their grouping window) are both stored: the
keys are written after the events, never before, so that a crash between the two inserts
can only store a batch twice, never acknowledge one that is not stored. docs/scaling.md states
this guarantee and its window.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from candor.schema import FIELD_NAMES
from candor.storage.base import IDEMPOTENCY_WINDOW, Batching, StoreError, naive_utc, utc_now
from candor.storage.clickhouse import export, synthetic
from candor.storage.clickhouse import url as urls
from candor.storage.clickhouse.connection import connect, literal
from candor.storage.clickhouse.questions import Questions, Scope
from candor.storage.clickhouse.schema import Layout
from candor.storage.plan import CommitPlan
from candor.storage.questions import NO_FILTERS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from candor.storage.base import Outcome, Submission
    from candor.storage.clickhouse.connection import Connection
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

log = logging.getLogger("candor.store")

COLUMNS = (*FIELD_NAMES, "received_at")
EPOCH = dt.datetime(1970, 1, 1)  # naive UTC, as the store's times are
GROUP_EVENTS = 10_000
GROUP_WAIT_S = 1.0
# Half the collector's in-flight cap (candor.server.runtime.http_protocol.MAX_CONCURRENCY,
# 1,000 requests): a group that many requests strong is committed at once, and the other half
# of the cap can arrive meanwhile. Without it, single-event requests waited out the second
# whatever the rate, so a collector answered at most ~1,000 a second (cap ÷ wait).
GROUP_REQUESTS = 500
MUTATION_TIMEOUT_S = 300.0  # a prune's DELETE on a large month
POLL_S = 0.05


class ClickHouseStore:
    """Events in ClickHouse; see candor.storage.base.Store for the contract."""

    # ClickHouse wants few, large inserts (each makes a part that background merges must fold
    # away): a collector commits once a second, or at 10 000 events or 500 requests, whichever
    # comes first. `candor serve --commit-window-ms` changes the second.
    batching = Batching(
        max_events=GROUP_EVENTS, max_wait_s=GROUP_WAIT_S, max_requests=GROUP_REQUESTS
    )

    def __init__(
        self, url: str, *, memory_limit: str | None = None, cluster: str | None = None
    ) -> None:
        # memory_limit is the embedded store's setting; a server manages its own memory.
        target = urls.parse(url)
        if cluster is not None and target.cluster is None:
            target = urls.Target(**{**_fields(target), "cluster": cluster})
        self.target = target
        self.url = target.display
        self.path: str | None = target.path
        self._con: Connection = connect(target)
        if target.cluster is None:
            # A store created with a cluster is opened as one without asking again (report,
            # export, prune): its events table is Distributed over that cluster.
            found = self._cluster_of_existing_tables(target.database)
            if found:
                target = urls.Target(**{**_fields(target), "cluster": found})
                self.target = target
        self.layout = Layout(target.database, self._con.version, target.cluster)
        self._closed = False
        self._last_stamp: dt.datetime | None = None
        self._lock = threading.Lock()  # one commit at a time from this process
        try:
            self._create_tables()
            self.layout.follow(self._columns_of(self.layout.local("events")))
        except StoreError:
            self._con.close()
            raise
        self.questions = Questions(self._con, self.layout)
        self._insert_settings: dict[str, int | str] = {"insert_deduplicate": 0}
        if target.cluster:
            # A 2xx only once every shard has its rows, not when the Distributed table queued them.
            self._insert_settings["insert_distributed_sync"] = 1

    def __repr__(self) -> str:
        return f"ClickHouseStore({self.url!r})"

    # ------------------------------------------------------------------ set-up

    def _cluster_of_existing_tables(self, database: str) -> str | None:
        import re

        rows = self._con.rows(
            "SELECT engine_full FROM system.tables "
            f"WHERE database = {literal(database)} AND name = 'events'"
        )
        found = re.match(r"Distributed\('?(\w+)'?", str(rows[0][0])) if rows else None
        return found.group(1) if found else None

    def _columns_of(self, table: str) -> list[str]:
        database, name = table.split(".", 1)
        rows = self._con.rows(
            "SELECT name FROM system.columns "
            f"WHERE database = {literal(database)} AND table = {literal(name)}"
        )
        return [str(column) for (column,) in rows]

    def _nodes(self) -> list[tuple[str, int]]:
        """Every node of the cluster, as (host, native port)."""
        rows = self._con.rows(
            "SELECT DISTINCT host_address, port FROM system.clusters "
            f"WHERE cluster = {literal(self.target.cluster)}"
        )
        if not rows:
            raise StoreError(
                f"ClickHouse knows no cluster {self.target.cluster!r} (see its remote_servers)"
            )
        return [(str(host), int(port)) for host, port in rows]

    def _create_tables(self) -> None:
        if not self.target.cluster:
            for statement in self.layout.node_ddl():
                self._con.run(statement)
            return
        for host, port in self._nodes():
            node = connect(self.target, host, port)
            try:
                for statement in self.layout.node_ddl():
                    node.run(statement)
            finally:
                node.close()

    # ------------------------------------------------------------------ writes

    def commit(
        self, submissions: Sequence[Submission], *, now: dt.datetime | None = None
    ) -> list[Outcome]:
        now = naive_utc(now) if now is not None else utc_now()
        with self._lock:
            self._check_open()
            plan = CommitPlan(submissions)
            held = self._held(plan.keys, now)
            resolution = plan.resolve(held, lambda: self._stamp(now))
            if resolution.rows:
                self._insert_rows(resolution.rows)
            fresh = [
                (key, answer.decode("utf-8", "surrogateescape"))
                for key, answer in zip(plan.keys, plan.answers, strict=True)
                if key not in held
            ]
            if fresh:
                keys, answers = zip(*fresh, strict=True)
                self._con.insert(
                    self.layout.table("idempotency_keys"),
                    ("key", "answer", "created_at"),
                    [keys, answers, self._times([now] * len(fresh))],
                    self._insert_settings,
                    columnar=True,
                )
            return resolution.outcomes

    def _stamp(self, now: dt.datetime) -> dt.datetime:
        """This commit's received_at: `now`, or just after the previous commit's if the clock
        has not moved on. With whole seconds stored (18.16) commits in one second share it."""
        last = self._last_stamp
        if self.layout.subsecond:
            stamp = now if last is None or now > last else last + dt.timedelta(microseconds=1)
        else:
            stamp = now if last is None or now > last else last
        self._last_stamp = stamp
        return stamp

    def insert_events(
        self, events: Sequence[Mapping[str, object]], received_at: dt.datetime
    ) -> int:
        at = naive_utc(received_at)
        rows = [(*(event[name] for name in FIELD_NAMES), at) for event in events]
        if rows:
            with self._lock:
                self._check_open()
                self._insert_rows(rows)
        return len(rows)

    def _insert_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """One INSERT of `rows` (the fields in FIELD_NAMES order, then received_at), sent as
        columns: transposing in C and converting each column once, not each value of each
        row, took a 10,000-event commit from ~47 to ~25 ms of the store process's CPU."""
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        interactive = FIELD_NAMES.index("is_interactive")
        columns[interactive] = [1 if flag else 0 for flag in columns[interactive]]
        columns[-1] = self._times(columns[-1])
        self._con.insert(
            self.layout.table("events"), COLUMNS, columns, self._insert_settings, columnar=True
        )

    def _times(self, moments: Sequence[dt.datetime]) -> Sequence[Any]:
        """received_at values as the connection takes them: a commit's events share one or a
        few, so each distinct one is converted once."""
        if not self._con.integer_times:
            return [_aware(moment) for moment in moments]
        unit = dt.timedelta(microseconds=1) if self.layout.subsecond else dt.timedelta(seconds=1)
        converted: dict[dt.datetime, int] = {}
        out = []
        for moment in moments:
            number = converted.get(moment)
            if number is None:
                number = converted[moment] = (naive_utc(moment) - EPOCH) // unit
            out.append(number)
        return out

    def tidy(self) -> None:
        """Nothing deferred: the server keeps `installations` up to date as rows arrive."""

    def insert_synthetic(self, spec: SyntheticEvents) -> int:
        """The synthetic model's events, drawn by the same generator as the DuckDB store's (so a
        seed gives the same events on every backend), moved in 100 000-row inserts."""
        with self._lock:
            self._check_open()
            return synthetic.insert(self._con, self.layout, spec, self._insert_settings)

    def prune(self, before: dt.datetime) -> int:
        """Delete events received before `before`; whole months go as partitions."""
        before = naive_utc(before)
        events = self.layout.local("events")
        with self._lock:
            self._check_open()
            counted = self._con.rows(
                f"SELECT count() FROM {self.layout.table('events')} "
                f"WHERE received_at < {self.layout.moment(before)}"
            )
            deleted = int(counted[0][0])
            if not deleted:
                return 0
            month = before.year * 100 + before.month
            for node in self._each_node():
                for (partition,) in node.rows(
                    "SELECT DISTINCT partition FROM system.parts WHERE active "
                    f"AND database = {literal(self.layout.database)} "
                    f"AND table = {literal(events.split('.', 1)[1])}"
                ):
                    if int(partition) < month:
                        node.run(f"ALTER TABLE {events} DROP PARTITION {partition}")
                node.run(
                    f"ALTER TABLE {events} DELETE WHERE received_at < {self.layout.moment(before)}"
                )
                self._await_mutations(node, events)
                # Installations with no event left are forgotten; the others keep their first day.
                installations = self.layout.local("installations")
                node.run(
                    f"ALTER TABLE {installations} DELETE WHERE installation_id NOT IN "
                    f"(SELECT installation_id FROM {events})"
                )
                self._await_mutations(node, installations)
        return deleted

    def expire_keys(self, before: dt.datetime) -> int:
        """Forget idempotency answers created before `before` (whole days drop as partitions)."""
        before = naive_utc(before)
        keys = self.layout.local("idempotency_keys")
        with self._lock:
            self._check_open()
            counted = self._con.rows(
                f"SELECT count() FROM {self.layout.table('idempotency_keys')} "
                f"WHERE created_at < {self.layout.moment(before)}"
            )
            expired = int(counted[0][0])
            if not expired:
                return 0
            for node in self._each_node():
                node.run(
                    f"ALTER TABLE {keys} DELETE WHERE created_at < {self.layout.moment(before)}"
                )
                self._await_mutations(node, keys)
        return expired

    def _each_node(self) -> list[Connection]:
        if not self.target.cluster:
            return [self._con]
        return [connect(self.target, host, port) for host, port in self._nodes()]

    def _await_mutations(self, node: Connection, table: str) -> None:
        """Wait until the table's mutations are done (18.16 has no mutations_sync)."""
        database, name = table.split(".", 1)
        deadline = time.monotonic() + MUTATION_TIMEOUT_S
        while time.monotonic() < deadline:
            ((pending,),) = node.rows(
                "SELECT count() FROM system.mutations WHERE NOT is_done "
                f"AND database = {literal(database)} AND table = {literal(name)}"
            )
            if not pending:
                return
            time.sleep(POLL_S)  # polling the server's own progress table
        raise StoreError(f"ClickHouse has not finished deleting from {table} yet")

    # ------------------------------------------------------------------ reads

    def _held(self, keys: Sequence[str], now: dt.datetime) -> dict[str, bytes]:
        if not keys:
            return {}
        rows = self._con.rows(
            f"SELECT key, argMin(answer, created_at) FROM {self.layout.table('idempotency_keys')} "
            f"WHERE key IN ({', '.join(literal(k) for k in keys)}) "
            f"AND created_at >= {self.layout.moment(now - IDEMPOTENCY_WINDOW)} GROUP BY key"
        )
        return {str(key): str(answer).encode("utf-8", "surrogateescape") for key, answer in rows}

    def lookup_answer(self, key: str, *, now: dt.datetime | None = None) -> bytes | None:
        now = naive_utc(now) if now is not None else utc_now()
        self._check_open()
        return self._held([key], now).get(key)

    def count(self) -> int:
        """How many events the store holds."""
        return self.count_events()

    def count_events(self, start: dt.datetime | None = None, end: dt.datetime | None = None) -> int:
        conditions = ["1"]
        if start is not None:
            conditions.append(f"received_at >= {self.layout.moment(start)}")
        if end is not None:
            conditions.append(f"received_at < {self.layout.moment(end)}")
        self._check_open()
        rows = self._con.rows(
            f"SELECT count() FROM {self.layout.table('events')} WHERE {' AND '.join(conditions)}"
        )
        return int(rows[0][0])

    def export_events(self, path: str, fmt: str, time_range: TimeRange | None = None) -> int:
        self._check_open()
        return export.write(self._con, self.layout, path, fmt, time_range)

    # The analytics questions (candor.storage.questions says what each answers), each one
    # statement or three computed by the server.

    def usage_totals(self, time_range: TimeRange, filters: Filters) -> Totals:
        return self._ask(time_range, filters).usage_totals(Scope(self.layout, time_range, filters))

    def command_counts(self, time_range: TimeRange, filters: Filters) -> Breakdown:
        return self._ask(time_range, filters).command_counts(
            Scope(self.layout, time_range, filters)
        )

    def duration_percentiles(
        self, time_range: TimeRange, filters: Filters, *, by_version: bool
    ) -> list[Percentiles]:
        return self._ask(time_range, filters).duration_percentiles(
            Scope(self.layout, time_range, filters), by_version=by_version
        )

    def error_counts(self, time_range: TimeRange, filters: Filters) -> ErrorCounts:
        return self._ask(time_range, filters).error_counts(Scope(self.layout, time_range, filters))

    def installation_counts(self, time_range: TimeRange, filters: Filters) -> InstallationCounts:
        return self._ask(time_range, filters).installation_counts(
            Scope(self.layout, time_range, filters)
        )

    def version_counts(self, time_range: TimeRange, filters: Filters) -> VersionCounts:
        return self._ask(time_range, filters).version_counts(
            Scope(self.layout, time_range, filters)
        )

    def platform_counts(self, time_range: TimeRange, filters: Filters) -> PlatformCounts:
        return self._ask(time_range, filters).platform_counts(
            Scope(self.layout, time_range, filters)
        )

    def dimension_values(self, time_range: TimeRange) -> DimensionValues:
        return self._ask(time_range, NO_FILTERS).dimension_values(
            Scope(self.layout, time_range, NO_FILTERS)
        )

    def _ask(self, time_range: TimeRange, filters: Filters) -> Questions:
        self._check_open()
        return self.questions

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one SELECT in ClickHouse SQL over this store's database (for tests and
        tools); `?` marks parameters."""
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            raise StoreError("query() runs SELECT statements only")
        self._check_open()
        return self._con.rows(_bind(self._qualify(sql), params))

    def _qualify(self, sql: str) -> str:
        import re

        names = "|".join(("events", "idempotency_keys", "installations"))
        return re.sub(rf"\b(FROM|JOIN)\s+({names})\b", rf"\1 {self.layout.database}.\2", sql)

    def ping(self) -> None:
        self._check_open()
        self._con.rows("SELECT 1")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._con.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")


def _aware(moment: dt.datetime) -> dt.datetime:
    """A naive UTC time as an aware one (the driver would otherwise take the machine's zone)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _bind(sql: str, params: Sequence[object]) -> str:
    pieces = sql.split("?")
    if len(pieces) != len(params) + 1:
        raise StoreError("query(): as many parameters as ? marks, please")
    out = pieces[0]
    for value, piece in zip(params, pieces[1:], strict=True):
        out += literal(value) + piece
    return out


def _fields(target: urls.Target) -> dict[str, Any]:
    return {name: getattr(target, name) for name in urls.Target.__dataclass_fields__}
