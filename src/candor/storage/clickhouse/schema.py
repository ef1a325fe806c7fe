"""The tables of a ClickHouse store, written for the server they go to (`SELECT version()`).

- `events`: the nine fields, received_at and its UTC `day` (filled in by the server). MergeTree, a
  partition per month of received_at (retention drops whole months), sorted by day and then
  the dashboard's filters, so a range reads only its days and a filter skips most of them.
  Dimensions are `LowCardinality` where the server has it without an experimental switch
  (19.x on; 18.16 would need a setting that later servers reject, so plain String there).
- `idempotency_keys`: each keyed request's answer, a partition per day; servers with TTL drop
  expired days on their own, the collector's daily maintenance does it everywhere.
- `installations`: each installation's first received_at, kept by a materialized view over
  `events` (AggregatingMergeTree with minState), so "new installations" needs no scan of all
  history, and the first day stays known while older events are pruned.

With a cluster (`?cluster=NAME`, or `candor serve --cluster NAME`) each of these is a
`ReplicatedMergeTree` table `<name>_local` on every node, sharded by a `Distributed` table of
the plain name; events and installations are sharded by installation, so each installation's
rows live on one shard.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from candor.schema import FIELDS, UUID4_PATTERN
from candor.storage.base import naive_utc

if TYPE_CHECKING:
    from collections.abc import Sequence

LOW_CARDINALITY_SINCE = (19, 3)  # not experimental from here on
TTL_SINCE = (19, 6)
CODECS_SINCE = (19, 11)
DATETIME64_SINCE = (20, 1)
# indexHint that the key analysis reads: 18.16 knows the function but ignores its argument (it
# read all 10 M events for a 30-day question), 20.3 removed it, 21.5 brought it back working.
INDEX_HINT_SINCE = (21, 6)
KEYS_TTL_DAYS = 2  # the idempotency window is a day; one more so a key never leaves early
TABLES = ("events", "idempotency_keys", "installations")
DAY_OF_RECEIVED_AT = "toDate(received_at)"


class Layout:
    """The DDL and table names of one store on one server version."""

    def __init__(self, database: str, version: tuple[int, ...], cluster: str | None) -> None:
        self.database = database
        self.version = version
        self.cluster = cluster
        self.low_cardinality = version >= LOW_CARDINALITY_SINCE
        self.ttl = version >= TTL_SINCE
        self.codecs = version >= CODECS_SINCE
        # received_at to the microsecond, as DuckDB keeps it; 18.16 has whole seconds only.
        self.subsecond = version >= DATETIME64_SINCE
        self.time_type = "DateTime64(6, 'UTC')" if self.subsecond else "DateTime('UTC')"
        # The events' UTC day: their `day` column, or on a table created before it existed
        # that expression. See `follow`.
        self.day = "day"
        self.index_hint = False

    def moment(self, value: dt.datetime) -> str:
        """`value` as a literal to compare a time column with. With whole seconds stored, a
        bound with a fraction is rounded up, which keeps `x >= bound` and `x < bound` exact."""
        value = naive_utc(value)
        if not self.subsecond and value.microsecond:
            value = value.replace(microsecond=0) + dt.timedelta(seconds=1)
        # Typed, not a bare string: 18.16's primary-key analysis applies toDate() to the
        # constant and fails on a String ("not of fixed size").
        if self.subsecond:
            return f"toDateTime64('{value.isoformat(sep=' ', timespec='microseconds')}', 6, 'UTC')"
        return f"toDateTime('{value.isoformat(sep=' ', timespec='seconds')}', 'UTC')"

    def follow(self, events_columns: Sequence[str]) -> None:
        """Follow the events table as it is (`events_columns`, its column names).

        Questions filter rows by `day` and leave the range on received_at to the primary key
        (sorted by its toDate) and the month partitions, through `indexHint`, which only
        selects granules and is not computed per row. A server without a working indexHint
        (18.16) filters by received_at itself, and a table from before the `day` column is
        read through toDate(received_at)."""
        if "day" not in events_columns:
            self.day = DAY_OF_RECEIVED_AT
        self.index_hint = self.version >= INDEX_HINT_SINCE and self.day == "day"

    def days(self, first: dt.date, last: dt.date) -> str:
        """The condition that keeps the events received from day `first` to day `last`."""
        start = dt.datetime.combine(first, dt.time())
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
        bounds = f"received_at >= {self.moment(start)} AND received_at < {self.moment(end)}"
        if not self.index_hint:
            return bounds
        return f"day >= toDate('{first}') AND day <= toDate('{last}') AND indexHint({bounds})"

    # ------------------------------------------------------------------ names

    def table(self, name: str) -> str:
        """The table reads and inserts go to (the Distributed one on a cluster)."""
        return f"{self.database}.{name}"

    def local(self, name: str) -> str:
        """The table that holds a node's rows (the same as `table` without a cluster)."""
        return f"{self.database}.{name}_local" if self.cluster else f"{self.database}.{name}"

    @property
    def global_in(self) -> str:
        """IN over a subquery: GLOBAL on a cluster, so each shard gets the whole answer."""
        return "GLOBAL IN" if self.cluster else "IN"

    # ------------------------------------------------------------------ DDL

    def node_ddl(self) -> list[str]:
        """Statements that create the store on one node (each node of a cluster runs them)."""
        statements = [f"CREATE DATABASE IF NOT EXISTS {self.database}"]
        statements += [
            self._events(),
            self._keys(),
            self._installations(),
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {self.database}.installations_mv "
            f"TO {self.local('installations')} AS SELECT installation_id, "
            f"minState(received_at) AS first_seen FROM {self.local('events')} "
            "GROUP BY installation_id",
        ]
        if self.cluster:
            for name, key in (
                ("events", "cityHash64(toString(installation_id))"),
                ("idempotency_keys", "cityHash64(key)"),
                ("installations", "cityHash64(toString(installation_id))"),
            ):
                statements.append(
                    f"CREATE TABLE IF NOT EXISTS {self.table(name)} AS {self.local(name)} "
                    f"ENGINE = Distributed({self.cluster}, {self.database}, {name}_local, {key})"
                )
        return statements

    def _engine(self, name: str, kind: str = "MergeTree") -> str:
        if not self.cluster:
            return f"{kind}()"
        path = f"/clickhouse/tables/{{shard}}/{self.database}/{name}"
        return f"Replicated{kind}('{path}', '{{replica}}')"

    def _string(self, nullable: bool = False) -> str:
        base = "Nullable(String)" if nullable else "String"
        return f"LowCardinality({base})" if self.low_cardinality else base

    def _events(self) -> str:
        columns = []
        for field in FIELDS:
            if field.pattern == UUID4_PATTERN:
                kind = "UUID"
            elif field.json_type == "integer":
                kind = "UInt32"  # durations: the schema's maximum is 2**31 - 1
            elif field.json_type == "boolean":
                kind = "UInt8"
            else:
                kind = self._string(field.nullable)
            columns.append(f"{field.name} {kind}")
        columns.append(f"received_at {self.time_type}")
        # The UTC day of received_at, stored: every question filters and groups by whole days;
        # sorted first it costs ~0 bytes, while reading and comparing received_at itself was
        # 30-60 ms of each statement on 4.7 M events (chDB). DEFAULT, not MATERIALIZED: an
        # insert through a Distributed table sends every column, which a shard refuses for a
        # MATERIALIZED one (18.16, the cluster test).
        columns.append(f"day Date DEFAULT {DAY_OF_RECEIVED_AT}")
        if self.codecs:  # measured: smaller than LZ4 alone, and as fast to read
            columns = [
                f"{c} CODEC(ZSTD(1))" if c.split()[0] in ("installation_id", "received_at",
                                                          "duration_ms") else c
                for c in columns
            ]  # fmt: skip
        return (
            f"CREATE TABLE IF NOT EXISTS {self.local('events')} (\n  "
            + ",\n  ".join(columns)
            + f"\n) ENGINE = {self._engine('events')}\n"
            "PARTITION BY toYYYYMM(received_at)\n"
            "ORDER BY (toDate(received_at), command, cli_version, os_arch, installation_id)"
        )

    def _keys(self) -> str:
        ttl = f" TTL toDateTime(created_at) + INTERVAL {KEYS_TTL_DAYS} DAY" if self.ttl else ""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.local('idempotency_keys')} "
            f"(key String, answer String, created_at {self.time_type}) "
            f"ENGINE = {self._engine('idempotency_keys')} "
            f"PARTITION BY toDate(created_at) ORDER BY key{ttl}"
        )

    def _installations(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.local('installations')} "
            f"(installation_id UUID, first_seen AggregateFunction(min, {self.time_type})) "
            f"ENGINE = {self._engine('installations', 'AggregatingMergeTree')} "
            "ORDER BY installation_id"
        )
