"""The analytics questions (`candor.storage.questions`) in DuckDB SQL, over the daily rollups.

Counts and distinct installations come from the rollups (`candor.storage.duckdb.rollups`).
Distinct installations are exact: each group of a query gets a bitmap of the dense installation
numbers it saw (`bitstring_agg`), and its count is the number of bits set. Coarser groups OR
their finer groups' bitmaps (`bit_or`), so one pass answers, say, installations per version per
day, per day, per version and in total. A bitmap takes max_iid / 8 bytes (25 KB for 200 000
installations) per group while a query runs.

Duration percentiles come from the raw events, because they must be exact and percentiles do
not add up across days: `quantile_disc` is nearest-rank.

Every function takes a `Scope` (the range and filters as SQL) and returns the question's rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.storage.questions import (
    Breakdown,
    DayCount,
    DimensionValues,
    ErrorCounts,
    ErrorTally,
    FailureTally,
    InstallationCounts,
    InteractiveTally,
    Percentiles,
    PlatformCounts,
    Tally,
    Totals,
    VersionCounts,
    VersionDay,
    VersionTotal,
    WeekCount,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from candor.storage.questions import Filters, TimeRange

    Read = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]

USAGE = "rollup_daily_usage"
ERRORS = "rollup_daily_errors"


class Scope:
    """One question's range and filters, turned into SQL over a rollup or the raw events."""

    def __init__(self, read: Read, time_range: TimeRange, filters: Filters, max_iid: int) -> None:
        self.read = read
        self.time_range = time_range
        self.filters = filters
        # The bitmaps' size, fixed before the statement: installations that arrive meanwhile
        # are left out (iid ≤ max_iid) rather than overflow.
        self.max_iid = max_iid

    def conditions(self) -> tuple[str, list[object]]:
        """` AND column = ?` for each filter, and the parameters."""
        pairs = self.filters.columns()
        return "".join(f" AND {column} = ?" for column, _ in pairs), [v for _, v in pairs]

    def grouped(self, table: str, keys: str, aggregates: str) -> tuple[str, list[object]]:
        """`SELECT keys, aggregates FROM table WHERE <scope> GROUP BY keys` and its parameters."""
        sql, params = self.conditions()
        where = f"day BETWEEN ? AND ? AND iid <= {self.max_iid}{sql}"
        group = f" GROUP BY {keys}" if keys else ""
        select = f"{keys}, {aggregates}" if keys else aggregates
        return (
            f"SELECT {select} FROM {table} WHERE {where}{group}",
            [self.time_range.start, self.time_range.end, *params],
        )

    def events_where(self) -> tuple[str, list[object]]:
        """WHERE conditions (and parameters) for the raw `events` table."""
        sql, params = self.conditions()
        return (
            f"received_at >= ? AND received_at < ?{sql}",
            [self.time_range.start_time, self.time_range.end_time, *params],
        )

    def bitmap(self, condition: str | None = None) -> str:
        """SQL aggregate: the set of installations (of the rows meeting `condition`)."""
        if self.max_iid == 0:
            return "NULL::BITSTRING"
        where = f" FILTER (WHERE {condition})" if condition else ""
        return f"bitstring_agg(iid, 1, {self.max_iid}){where}"

    def query(self, sql: str, params: list[object]) -> list[tuple[Any, ...]]:
        return self.read(sql, params)


def count(bitmap: str) -> str:
    """SQL: how many installations a bitmap holds (0 for none)."""
    return f"coalesce(bit_count({bitmap}), 0)"


def usage_totals(scope: Scope) -> Totals:
    inner, params = scope.grouped(
        USAGE,
        "command",
        f"sum(events) AS ev, sum(failures) AS fail, {scope.bitmap()} AS b, "
        f"{scope.bitmap('is_new')} AS n, sum(events) FILTER (WHERE is_interactive) AS inter",
    )
    ((events, failures, active, new, interactive, used),) = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) SELECT coalesce(sum(ev), 0), coalesce(sum(fail), 0), "
        f"{count('bit_or(b)')}, {count('bit_or(n)')}, coalesce(sum(inter), 0), count(*) FROM g",
        params,
    )
    return Totals(int(events), int(failures), int(active), int(new), int(interactive), int(used))


def command_counts(scope: Scope) -> Breakdown:
    inner, params = scope.grouped(USAGE, "command", f"sum(events) AS ev, {scope.bitmap()} AS b")
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, command, ev, {count('b')} FROM g UNION ALL "
        f"SELECT 1, NULL, coalesce(sum(ev), 0), {count('bit_or(b)')} FROM g",
        params,
    )
    return _breakdown(rows)


def _breakdown(rows: list[tuple[Any, ...]]) -> Breakdown:
    """(is the total, name, events, installations) rows → Breakdown."""
    tallies = [Tally(name, int(events), int(active)) for total, name, events, active in rows]
    total = next(t for (is_total, *_), t in zip(rows, tallies, strict=True) if is_total)
    rest = [t for (is_total, *_), t in zip(rows, tallies, strict=True) if not is_total]
    return Breakdown(rest, total)


def duration_percentiles(scope: Scope, *, by_version: bool) -> list[Percentiles]:
    keys = "command, cli_version" if by_version else "command"
    where, params = scope.events_where()
    rows = scope.query(
        # INTEGER: durations fit (schema maximum 2**31 - 1), and half the bytes sort faster.
        f"SELECT {keys}, count(*), quantile_disc(duration_ms::INTEGER, [0.5, 0.9, 0.99]), "
        f"max(duration_ms) FROM events WHERE {where} GROUP BY {keys}",
        params,
    )
    if by_version:
        return [
            Percentiles(cmd, ver, int(n), int(q[0]), int(q[1]), int(q[2]), int(top))
            for cmd, ver, n, q, top in rows
        ]
    return [
        Percentiles(cmd, None, int(n), int(q[0]), int(q[1]), int(q[2]), int(top))
        for cmd, n, q, top in rows
    ]


def error_counts(scope: Scope) -> ErrorCounts:
    inner, params = scope.grouped(
        ERRORS, "command, error_code", f"sum(events) AS ev, {scope.bitmap()} AS b"
    )
    error_rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT command, error_code, ev, {count('b')} FROM g UNION ALL "
        f"SELECT NULL, error_code, sum(ev), {count('bit_or(b)')} FROM g GROUP BY error_code",
        params,
    )
    # Failure rates: sums over the usage rollup; installations hit: bitmaps over the (ten times
    # smaller) errors rollup, since an installation with a failure has a row there.
    sums_sql, params = scope.grouped(
        USAGE, "command, cli_version", "sum(events) AS ev, sum(failures) AS fail"
    )
    sums = scope.query(
        f"WITH g AS MATERIALIZED ({sums_sql}) "
        "SELECT 0, command, sum(ev), sum(fail) FROM g GROUP BY command UNION ALL "
        "SELECT 1, cli_version, sum(ev), sum(fail) FROM g GROUP BY cli_version",
        params,
    )
    inner, params = scope.grouped(ERRORS, "command, cli_version", f"{scope.bitmap()} AS b")
    failing = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, command, {count('bit_or(b)')} FROM g GROUP BY command UNION ALL "
        f"SELECT 1, cli_version, {count('bit_or(b)')} FROM g GROUP BY cli_version",
        params,
    )
    hit = {(int(by), name): int(installs) for by, name, installs in failing}
    tallies: tuple[list[FailureTally], list[FailureTally]] = ([], [])
    for by, name, events, failures in sums:
        tallies[by].append(
            FailureTally(name, int(events), int(failures), hit.get((int(by), name), 0))
        )
    codes = [ErrorTally(cmd, code, int(ev), int(ins)) for cmd, code, ev, ins in error_rows]
    return ErrorCounts(
        by_code=[e for e in codes if e.command is None],
        by_command_and_code=[e for e in codes if e.command is not None],
        by_command=tallies[0],
        by_version=tallies[1],
    )


def installation_counts(scope: Scope) -> InstallationCounts:
    inner, params = scope.grouped(
        USAGE, "day", f"{scope.bitmap()} AS b, {scope.bitmap('is_new')} AS n"
    )
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, day, {count('b')}, {count('n')} FROM g UNION ALL "
        f"SELECT 1, date_trunc('week', day)::DATE, {count('bit_or(b)')}, 0 FROM g GROUP BY 2",
        params,
    )
    return InstallationCounts(
        daily=[DayCount(day, int(a), int(n)) for weekly, day, a, n in rows if not weekly],
        weekly=[WeekCount(week, int(a)) for weekly, week, a, _ in rows if weekly],
    )


def version_counts(scope: Scope) -> VersionCounts:
    inner, params = scope.grouped(USAGE, "day, cli_version", f"{scope.bitmap()} AS b")
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, day, cli_version, {count('b')}, day FROM g UNION ALL "
        f"SELECT 0, day, NULL, {count('bit_or(b)')}, day FROM g GROUP BY day UNION ALL "
        f"SELECT 1, NULL, cli_version, {count('bit_or(b)')}, min(day) FROM g "
        f"GROUP BY cli_version UNION ALL "
        f"SELECT 2, NULL, NULL, {count('bit_or(b)')}, NULL FROM g",
        params,
    )
    return VersionCounts(
        daily=[VersionDay(day, ver, int(n)) for kind, day, ver, n, _ in rows if kind == 0],
        versions=[VersionTotal(ver, int(n), first) for kind, _, ver, n, first in rows if kind == 1],
        installations=next((int(n) for kind, _, _, n, _ in rows if kind == 2), 0),
    )


def platform_counts(scope: Scope) -> PlatformCounts:
    inner, params = scope.grouped(
        USAGE, "os_arch, is_interactive", f"sum(events) AS ev, {scope.bitmap()} AS b"
    )
    rest = f"coalesce(sum(ev), 0), {count('bit_or(b)')} FROM g"
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, os_arch, NULL, {rest} GROUP BY os_arch UNION ALL "
        f"SELECT 1, NULL, is_interactive, {rest} GROUP BY is_interactive UNION ALL "
        f"SELECT 2, NULL, NULL, {rest}",
        params,
    )
    return PlatformCounts(
        os_arch=[Tally(os, int(ev), int(n)) for kind, os, _, ev, n in rows if kind == 0],
        interactive=[
            InteractiveTally(bool(flag), int(ev), int(n))
            for kind, _, flag, ev, n in rows
            if kind == 1
        ],
        total=next(Tally(None, int(ev), int(n)) for kind, _, _, ev, n in rows if kind == 2),
    )


def dimension_values(scope: Scope) -> DimensionValues:
    inner, params = scope.grouped(USAGE, "command, cli_version, os_arch", "sum(events) AS ev")
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        "SELECT 0, command, sum(ev) FROM g GROUP BY 2 UNION ALL "
        "SELECT 1, cli_version, sum(ev) FROM g GROUP BY 2 UNION ALL "
        "SELECT 2, os_arch, sum(ev) FROM g GROUP BY 2 ORDER BY 3 DESC, 2",
        params,
    )
    return DimensionValues(
        commands=[name for kind, name, _ in rows if kind == 0],
        cli_versions=[name for kind, name, _ in rows if kind == 1],
        os_archs=[name for kind, name, _ in rows if kind == 2],
    )
