"""The one query layer: (store, TimeRange, Filters) → typed answers (`candor.analytics.answers`).

The terminal report, the stats API and the dashboard all call these functions, so they always
agree. Counts and distinct installations come from the daily rollups (`candor.storage.rollups`):
distinct installations are exact, counted as the bits set in a bitmap of dense installation
numbers. Duration percentiles come from the raw events, because they must be exact and
percentiles do not add up across days; they are nearest-rank (DuckDB's `quantile_disc`): the
p90 of 4 runs is the 4th fastest, ⌈0.9 × 4⌉ = 4.

Each function runs one or two SELECTs; `summary` runs them all, the dashboard's full load.
"""

from __future__ import annotations

import datetime as dt
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
    WeeklyActive,
    ratio,
)
from candor.analytics.rows import (
    error_answers,
    failure_rates,
    platform_shares,
    summarize_versions,
    version_latencies,
    version_shares,
)
from candor.analytics.filters import NO_FILTERS, Filters, TimeRange, version_key

if TYPE_CHECKING:
    from candor.storage.base import Store

# A bitmap costs max_iid / 8 bytes per output group (25 KB at 200 k installations); past this
# many installations, exact counting switches to DuckDB's hash-based count(DISTINCT).
BITMAP_MAX_INSTALLATIONS = 4_000_000
USAGE = "rollup_daily_usage"
ERRORS = "rollup_daily_errors"


class Scope:
    """One question's range and filters, turned into SQL over a rollup or the raw events."""

    def __init__(self, store: Store, time_range: TimeRange, filters: Filters) -> None:
        self.store = store
        self.time_range = time_range
        self.filters = filters
        # Rows of installations added after this read are left out below (iid ≤ max_iid):
        # the bitmap's size is fixed by the first statement, the data may move on meanwhile.
        rows = store.query("SELECT coalesce(max(iid), 0) FROM rollup_installations")
        self.max_iid = int(rows[0][0])

    def rollup_where(self) -> tuple[str, list[object]]:
        """WHERE conditions (and parameters) for a rollup table."""
        sql, params = self.filters.sql()
        return (
            f"day BETWEEN ? AND ? AND iid <= {self.max_iid}{sql}",
            [self.time_range.start, self.time_range.end, *params],
        )

    def events_where(self) -> tuple[str, list[object]]:
        """WHERE conditions (and parameters) for the raw `events` table."""
        sql, params = self.filters.sql()
        return (
            f"received_at >= ? AND received_at < ?{sql}",
            [self.time_range.start_time, self.time_range.end_time, *params],
        )

    def distinct(self, condition: str | None = None) -> str:
        """SQL for the exact number of distinct installations (of the rows meeting `condition`)."""
        where = f" FILTER (WHERE {condition})" if condition else ""
        if self.max_iid == 0:
            return "0"
        if self.max_iid > BITMAP_MAX_INSTALLATIONS:
            return f"count(DISTINCT iid){where}"
        return f"coalesce(bit_count(bitstring_agg(iid, 1, {self.max_iid}){where}), 0)"

    def rollup(self, table: str, select: str, tail: str = "") -> list[tuple[Any, ...]]:
        """Rows of `SELECT select FROM table WHERE <scope> tail`."""
        where, params = self.rollup_where()
        return self.store.query(f"SELECT {select} FROM {table} WHERE {where} {tail}", params)


def overview(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Overview:
    """Events, failures, active and new installations in the range."""
    scope = Scope(store, time_range, filters)
    ((events, failures, installations, new, interactive, commands),) = scope.rollup(
        USAGE,
        "coalesce(sum(events), 0), coalesce(sum(failures), 0), "
        f"{scope.distinct()}, {scope.distinct('is_new')}, "
        "coalesce(sum(events) FILTER (WHERE is_interactive), 0), count(DISTINCT command)",
    )
    return Overview(
        events=int(events),
        failures=int(failures),
        failure_rate=ratio(failures, events),
        installations=int(installations),
        new_installations=int(new),
        interactive_share=ratio(interactive, events),
        commands=int(commands),
    )


def commands(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[CommandUsage]:
    """Most used commands: invocations, distinct installations and their shares of the total."""
    scope = Scope(store, time_range, filters)
    rows = scope.rollup(
        USAGE,
        f"grouping(command), command, sum(events), {scope.distinct()}",
        "GROUP BY GROUPING SETS ((command), ())",
    )
    totals = [row for row in rows if row[0] == 1]
    total_events, total_installations = (totals[0][2], totals[0][3]) if totals else (0, 0)
    answer = [
        CommandUsage(
            command=command,
            events=int(events),
            installations=int(installations),
            event_share=ratio(events, total_events),
            installation_share=ratio(installations, total_installations),
        )
        for grouped, command, events, installations in rows
        if grouped == 0 and events
    ]
    return sorted(answer, key=lambda row: (-row.events, row.command))


def latency_by_command(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[Latency]:
    """p50/p90/p99 (nearest-rank) and max duration of each command, slowest p90 first."""
    where, params = Scope(store, time_range, filters).events_where()
    rows = store.query(
        "SELECT command, count(*), quantile_disc(duration_ms, [0.5, 0.9, 0.99]), "
        f"max(duration_ms) FROM events WHERE {where} GROUP BY command",
        params,
    )
    answer = [
        Latency(command, int(n), int(q[0]), int(q[1]), int(q[2]), int(top))
        for command, n, q, top in rows
    ]
    return sorted(answer, key=lambda row: (-row.p90, row.command))


def performance(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> Performance:
    """Percentiles per command and per command × cli_version, with regressions flagged."""
    where, params = Scope(store, time_range, filters).events_where()
    rows = store.query(
        "SELECT command, cli_version, count(*), quantile_disc(duration_ms, [0.5, 0.9, 0.99]), "
        f"max(duration_ms) FROM events WHERE {where} GROUP BY command, cli_version",
        params,
    )
    return Performance(
        by_command=latency_by_command(store, time_range, filters),
        by_version=version_latencies(rows),
    )


def errors(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Errors:
    """Top error codes by events and by installations, per command; failure rates."""
    scope = Scope(store, time_range, filters)
    error_rows = scope.rollup(
        ERRORS,
        f"grouping(command), command, error_code, sum(events), {scope.distinct()}",
        "GROUP BY GROUPING SETS ((error_code), (command, error_code))",
    )
    rate_rows = scope.rollup(
        USAGE,
        f"grouping(command), command, cli_version, sum(events), sum(failures), "
        f"{scope.distinct()}, {scope.distinct('failures > 0')}",
        "GROUP BY GROUPING SETS ((command), (cli_version))",
    )
    top, by_command = error_answers(error_rows)
    by_cmd, by_version = failure_rates(rate_rows)
    return Errors(top, by_command, by_cmd, by_version)


def installations(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> Installations:
    """Daily active and new installations (every day of the range), weekly active ones."""
    scope = Scope(store, time_range, filters)
    rows = scope.rollup(
        USAGE,
        "grouping(day), day, date_trunc('week', day)::DATE, "
        f"{scope.distinct()}, {scope.distinct('is_new')}",
        "GROUP BY GROUPING SETS ((day), (date_trunc('week', day)))",
    )
    by_day = {day: (int(active), int(new)) for g, day, _, active, new in rows if g == 0}
    by_week = {week: int(active) for g, _, week, active, _ in rows if g == 1}
    start, end = time_range.start, time_range.end
    daily = [
        DailyActive(day, *by_day.get(day, (0, 0)))
        for day in (start + dt.timedelta(days=n) for n in range(time_range.days))
    ]
    first_monday = start - dt.timedelta(days=start.weekday())
    weeks = [first_monday + dt.timedelta(weeks=n) for n in range((end - first_monday).days // 7 + 1)]
    weekly = [
        WeeklyActive(week, by_week.get(week, 0), week < start or week + dt.timedelta(6) > end)
        for week in weeks
    ]
    return Installations(daily, weekly)


def adoption(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Adoption:
    """Share of the active installations on each cli_version, per day and over the range."""
    scope = Scope(store, time_range, filters)
    rows = scope.rollup(
        USAGE,
        f"grouping(day), grouping(cli_version), day, cli_version, {scope.distinct()}, min(day)",
        "GROUP BY GROUPING SETS ((day, cli_version), (day), (cli_version), ())",
    )
    daily = version_shares(rows)
    return Adoption(daily, summarize_versions(rows, daily))


def platforms(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Platforms:
    """The os_arch mix and the interactive versus CI share, by events and installations."""
    scope = Scope(store, time_range, filters)
    rows = scope.rollup(
        USAGE,
        f"grouping(os_arch), grouping(is_interactive), os_arch, is_interactive, sum(events), "
        f"{scope.distinct()}",
        "GROUP BY GROUPING SETS ((os_arch), (is_interactive), ())",
    )
    return platform_shares(rows)


def dimensions(store: Store, time_range: TimeRange) -> Dimensions:
    """The commands, versions and platforms seen in the range, for filter menus."""
    scope = Scope(store, time_range, NO_FILTERS)
    rows = scope.rollup(
        USAGE,
        "grouping(command), grouping(cli_version), command, cli_version, os_arch, sum(events)",
        "GROUP BY GROUPING SETS ((command), (cli_version), (os_arch)) ORDER BY 6 DESC",
    )
    return Dimensions(
        commands=[row[2] for row in rows if row[0] == 0],
        cli_versions=sorted((row[3] for row in rows if row[1] == 0), key=version_key),
        os_archs=[row[4] for row in rows if row[0] == 1 and row[1] == 1],
    )


SECTIONS = ("overview", "commands", "performance", "errors", "installations", "adoption",
            "platforms")  # fmt: skip


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
