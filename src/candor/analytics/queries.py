"""The one query layer: (store, TimeRange, Filters) → typed answers (`candor.analytics.answers`).

The terminal report, the stats API and the dashboard all call these functions, so they always
agree. Counts and distinct installations come from the daily rollups (`candor.storage.rollups`).
Distinct installations are exact: each group of a query gets a bitmap of the dense installation
numbers it saw (`bitstring_agg`), and its count is the number of bits set. Coarser groups OR
their finer groups' bitmaps (`bit_or`), so one pass answers, say, installations per version per
day, per day, per version and in total. A bitmap takes max_iid / 8 bytes (25 KB for 200 000
installations) per group while a query runs; daily series keep the groups few.

Duration percentiles come from the raw events, because they must be exact and percentiles do
not add up across days. They are nearest-rank (DuckDB's `quantile_disc`): pN is the smallest
duration with at least N % of the runs at or below it, so the p90 of 4 runs is the 4th.

Each function runs one or two SELECTs; `summary` runs them all, the dashboard's full load.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

from candor.analytics.answers import (
    Adoption,
    CommandUsage,
    DailyActive,
    Dimensions,
    Errors,
    Installations,
    Latency,
    Overview,
    Performance,
    Platforms,
    VersionLatency,
    WeeklyActive,
    ratio,
)
from candor.analytics.filters import NO_FILTERS, Filters, TimeRange, version_key
from candor.analytics.rows import (
    error_answers,
    failure_rates,
    platform_shares,
    summarize_versions,
    version_latencies,
    version_shares,
)

if TYPE_CHECKING:
    from candor.storage.base import Store

USAGE = "rollup_daily_usage"
ERRORS = "rollup_daily_errors"
SECTIONS = ("overview", "commands", "performance", "errors", "installations", "adoption",
            "platforms")  # fmt: skip


class Scope:
    """One question's range and filters, turned into SQL over a rollup or the raw events."""

    def __init__(self, store: Store, time_range: TimeRange, filters: Filters) -> None:
        self.store = store
        self.time_range = time_range
        self.filters = filters

    @functools.cached_property
    def max_iid(self) -> int:
        """The highest installation number now: the bitmaps' size, fixed before a statement.

        Installations that arrive meanwhile are left out (iid ≤ max_iid) rather than overflow.
        """
        rows = self.store.query("SELECT coalesce(max(iid), 0) FROM rollup_installations")
        return int(rows[0][0])

    def grouped(self, table: str, keys: str, aggregates: str) -> tuple[str, list[object]]:
        """`SELECT keys, aggregates FROM table WHERE <scope> GROUP BY keys` and its parameters."""
        sql, params = self.filters.sql()
        where = f"day BETWEEN ? AND ? AND iid <= {self.max_iid}{sql}"
        group = f" GROUP BY {keys}" if keys else ""
        select = f"{keys}, {aggregates}" if keys else aggregates
        return (
            f"SELECT {select} FROM {table} WHERE {where}{group}",
            [self.time_range.start, self.time_range.end, *params],
        )

    def events_where(self) -> tuple[str, list[object]]:
        """WHERE conditions (and parameters) for the raw `events` table."""
        sql, params = self.filters.sql()
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
        """Rows of one statement."""
        return self.store.query(sql, params)


def count(bitmap: str) -> str:
    """SQL: how many installations a bitmap holds (0 for none)."""
    return f"coalesce(bit_count({bitmap}), 0)"


def overview(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Overview:
    """Events, failures, active and new installations in the range."""
    scope = Scope(store, time_range, filters)
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
    return Overview(
        events=int(events),
        failures=int(failures),
        failure_rate=ratio(failures, events),
        installations=int(active),
        new_installations=int(new),
        interactive_share=ratio(interactive, events),
        commands=int(used),
    )


def commands(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[CommandUsage]:
    """Most used commands: invocations, distinct installations and their shares of the total."""
    scope = Scope(store, time_range, filters)
    inner, params = scope.grouped(USAGE, "command", f"sum(events) AS ev, {scope.bitmap()} AS b")
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) SELECT command, ev, {count('b')}, "
        f"(SELECT sum(ev) FROM g), (SELECT {count('bit_or(b)')} FROM g) FROM g",
        params,
    )
    answer = [
        CommandUsage(
            command=command,
            events=int(events),
            installations=int(active),
            event_share=ratio(events, all_events),
            installation_share=ratio(active, all_active),
        )
        for command, events, active, all_events, all_active in rows
    ]
    return sorted(answer, key=lambda row: (-row.events, row.command))


def _percentiles(scope: Scope, keys: str) -> list[tuple[Any, ...]]:
    where, params = scope.events_where()
    return scope.query(
        # INTEGER: durations fit (schema maximum 2**31 - 1), and half the bytes sort faster.
        f"SELECT {keys}, count(*), quantile_disc(duration_ms::INTEGER, [0.5, 0.9, 0.99]), "
        f"max(duration_ms) FROM events WHERE {where} GROUP BY {keys}",
        params,
    )


def latency_by_command(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[Latency]:
    """p50/p90/p99 (nearest-rank) and max duration of each command, slowest p90 first."""
    rows = _percentiles(Scope(store, time_range, filters), "command")
    answer = [
        Latency(command, int(n), int(q[0]), int(q[1]), int(q[2]), int(top))
        for command, n, q, top in rows
    ]
    return sorted(answer, key=lambda row: (-row.p90, row.command))


def latency_by_version(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[VersionLatency]:
    """Percentiles per command × cli_version, each against the previous release's p90."""
    scope = Scope(store, time_range, filters)
    return version_latencies(_percentiles(scope, "command, cli_version"))


def performance(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Performance:
    """Percentiles per command and per command × cli_version, with regressions flagged."""
    return Performance(
        by_command=latency_by_command(store, time_range, filters),
        by_version=latency_by_version(store, time_range, filters),
    )


def errors(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Errors:
    """Top error codes by events and by installations, per command; failure rates."""
    scope = Scope(store, time_range, filters)
    inner, params = scope.grouped(
        ERRORS, "command, error_code", f"sum(events) AS ev, {scope.bitmap()} AS b"
    )
    error_rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, command, error_code, ev, {count('b')} FROM g UNION ALL "
        f"SELECT 1, NULL, error_code, sum(ev), {count('bit_or(b)')} FROM g GROUP BY error_code",
        params,
    )
    # Failure rates: sums over the usage rollup; installations hit: bitmaps over the (ten times
    # smaller) errors rollup, since an installation with a failure has a row there.
    sums_sql, params = scope.grouped(USAGE, "command, cli_version", "sum(events), sum(failures)")
    sums = scope.query(sums_sql, params)
    inner, params = scope.grouped(ERRORS, "command, cli_version", f"{scope.bitmap()} AS b")
    failing = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, command, {count('bit_or(b)')} FROM g GROUP BY command UNION ALL "
        f"SELECT 1, cli_version, {count('bit_or(b)')} FROM g GROUP BY cli_version",
        params,
    )
    top, by_command = error_answers(error_rows)
    by_cmd, by_version = failure_rates(sums, failing)
    return Errors(top, by_command, by_cmd, by_version)


def installations(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> Installations:
    """Daily active and new installations (every day of the range), weekly active ones."""
    scope = Scope(store, time_range, filters)
    inner, params = scope.grouped(
        USAGE, "day", f"{scope.bitmap()} AS b, {scope.bitmap('is_new')} AS n"
    )
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, day, {count('b')}, {count('n')} FROM g UNION ALL "
        f"SELECT 1, date_trunc('week', day)::DATE, {count('bit_or(b)')}, 0 FROM g GROUP BY 2",
        params,
    )
    by_day = {day: (int(active), int(new)) for weekly, day, active, new in rows if not weekly}
    by_week = {week: int(active) for weekly, week, active, _ in rows if weekly}
    start, end = time_range.start, time_range.end
    daily = [
        DailyActive(day, *by_day.get(day, (0, 0)))
        for day in (start + dt.timedelta(days=n) for n in range(time_range.days))
    ]
    first_monday = start - dt.timedelta(days=start.weekday())
    mondays = (
        first_monday + dt.timedelta(weeks=n) for n in range((end - first_monday).days // 7 + 1)
    )
    weekly = [
        WeeklyActive(week, by_week.get(week, 0), week < start or week + dt.timedelta(6) > end)
        for week in mondays
    ]
    return Installations(daily, weekly)


def adoption(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Adoption:
    """Share of the active installations on each cli_version, per day and over the range."""
    scope = Scope(store, time_range, filters)
    inner, params = scope.grouped(USAGE, "day, cli_version", f"{scope.bitmap()} AS b")
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, 0, day, cli_version, {count('b')}, day FROM g UNION ALL "
        f"SELECT 0, 1, day, NULL, {count('bit_or(b)')}, day FROM g GROUP BY day UNION ALL "
        f"SELECT 1, 0, NULL, cli_version, {count('bit_or(b)')}, min(day) FROM g "
        f"GROUP BY cli_version UNION ALL "
        f"SELECT 1, 1, NULL, NULL, {count('bit_or(b)')}, min(day) FROM g",
        params,
    )
    daily = version_shares(rows)
    return Adoption(daily, summarize_versions(rows, daily))


def platforms(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Platforms:
    """The os_arch mix and the interactive versus CI share, by events and installations."""
    scope = Scope(store, time_range, filters)
    inner, params = scope.grouped(
        USAGE, "os_arch, is_interactive", f"sum(events) AS ev, {scope.bitmap()} AS b"
    )
    rest = f"sum(ev), {count('bit_or(b)')} FROM g"
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        f"SELECT 0, 1, os_arch, NULL, {rest} GROUP BY os_arch UNION ALL "
        f"SELECT 1, 0, NULL, is_interactive, {rest} GROUP BY is_interactive UNION ALL "
        f"SELECT 1, 1, NULL, NULL, {rest}",
        params,
    )
    return platform_shares(rows)


def dimensions(store: Store, time_range: TimeRange) -> Dimensions:
    """The commands, versions and platforms seen in the range, for filter menus."""
    scope = Scope(store, time_range, NO_FILTERS)
    inner, params = scope.grouped(USAGE, "command, cli_version, os_arch", "sum(events) AS ev")
    rows = scope.query(
        f"WITH g AS MATERIALIZED ({inner}) "
        "SELECT 0, command, sum(ev) FROM g GROUP BY 2 UNION ALL "
        "SELECT 1, cli_version, sum(ev) FROM g GROUP BY 2 UNION ALL "
        "SELECT 2, os_arch, sum(ev) FROM g GROUP BY 2 ORDER BY 3 DESC, 2",
        params,
    )
    return Dimensions(
        commands=[name for kind, name, _ in rows if kind == 0],
        cli_versions=sorted((name for kind, name, _ in rows if kind == 1), key=version_key),
        os_archs=[name for kind, name, _ in rows if kind == 2],
    )


def summary(
    store: Store,
    time_range: TimeRange,
    filters: Filters = NO_FILTERS,
    sections: tuple[str, ...] = SECTIONS,
) -> dict[str, object]:
    """Every answer the dashboard shows, by section name (all sections by default)."""
    functions = {
        "overview": overview,
        "commands": commands,
        "performance": performance,
        "errors": errors,
        "installations": installations,
        "adoption": adoption,
        "platforms": platforms,
    }
    return {name: functions[name](store, time_range, filters) for name in sections}
