"""The one query layer: (store, TimeRange, Filters) → typed answers (`candor.analytics.answers`).

The terminal report, the stats API and the dashboard all call these functions, so they always
agree, on every backend. Each asks the store one question of `candor.storage.questions` (the
store computes the counts, distinct installations and percentiles in its engine) and shapes the
rows it gets back: shares, ratios, order, the previous release and regressions
(`candor.analytics.rows`). No SQL here: a store speaks the domain.

`summary` asks them all, the dashboard's full load.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

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

SECTIONS = ("overview", "commands", "performance", "errors", "installations", "adoption",
            "platforms")  # fmt: skip


def overview(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Overview:
    """Events, failures, active and new installations in the range."""
    totals = store.usage_totals(time_range, filters)
    return Overview(
        events=totals.events,
        failures=totals.failures,
        failure_rate=ratio(totals.failures, totals.events),
        installations=totals.installations,
        new_installations=totals.new_installations,
        interactive_share=ratio(totals.interactive_events, totals.events),
        commands=totals.commands,
    )


def commands(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[CommandUsage]:
    """Most used commands: invocations, distinct installations and their shares of the total."""
    counts = store.command_counts(time_range, filters)
    total = counts.total
    answer = [
        CommandUsage(
            command=row.name or "",
            events=row.events,
            installations=row.installations,
            event_share=ratio(row.events, total.events),
            installation_share=ratio(row.installations, total.installations),
        )
        for row in counts.rows
    ]
    return sorted(answer, key=lambda row: (-row.events, row.command))


def latency_by_command(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[Latency]:
    """p50/p90/p99 (nearest-rank) and max duration of each command, slowest p90 first."""
    rows = store.duration_percentiles(time_range, filters, by_version=False)
    answer = [Latency(r.command, r.events, r.p50, r.p90, r.p99, r.max) for r in rows]
    return sorted(answer, key=lambda row: (-row.p90, row.command))


def latency_by_version(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> list[VersionLatency]:
    """Percentiles per command × cli_version, each against the previous release's p90."""
    return version_latencies(store.duration_percentiles(time_range, filters, by_version=True))


def performance(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Performance:
    """Percentiles per command and per command × cli_version, with regressions flagged."""
    return Performance(
        by_command=latency_by_command(store, time_range, filters),
        by_version=latency_by_version(store, time_range, filters),
    )


def errors(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Errors:
    """Top error codes by events and by installations, per command; failure rates."""
    counts = store.error_counts(time_range, filters)
    top, by_command = error_answers(counts.by_code, counts.by_command_and_code)
    by_cmd, by_version = failure_rates(counts.by_command, counts.by_version)
    return Errors(top, by_command, by_cmd, by_version)


def installations(
    store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS
) -> Installations:
    """Daily active and new installations (every day of the range), weekly active ones."""
    counts = store.installation_counts(time_range, filters)
    by_day = {row.day: (row.active, row.new) for row in counts.daily}
    by_week = {row.week: row.active for row in counts.weekly}
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
    counts = store.version_counts(time_range, filters)
    daily = version_shares(counts.daily)
    return Adoption(daily, summarize_versions(counts.versions, counts.installations, daily))


def platforms(store: Store, time_range: TimeRange, filters: Filters = NO_FILTERS) -> Platforms:
    """The os_arch mix and the interactive versus CI share, by events and installations."""
    return platform_shares(store.platform_counts(time_range, filters))


def dimensions(store: Store, time_range: TimeRange) -> Dimensions:
    """The commands, versions and platforms seen in the range, for filter menus."""
    values = store.dimension_values(time_range)
    return Dimensions(
        commands=list(values.commands),
        cli_versions=sorted(values.cli_versions, key=version_key),
        os_archs=list(values.os_archs),
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
