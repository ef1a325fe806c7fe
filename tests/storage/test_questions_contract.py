"""Every analytics question of the Store contract, on every backend, against values computed
by hand from the known data set (tests/support/dataset.py: its table is the arithmetic).

The store answers plain rows (`candor.storage.questions`); the analytics layer shapes them the
same way for every backend, so equal rows here mean equal reports, API answers and dashboards.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from typing import TYPE_CHECKING

import pytest

from candor.schema import FIELD_NAMES
from candor.storage.questions import (
    NO_FILTERS,
    OTHER,
    TOP_VALUES,
    Breakdown,
    DayCount,
    DimensionValues,
    ErrorTally,
    FailureTally,
    Filters,
    InteractiveTally,
    Percentiles,
    Tally,
    TimeRange,
    Totals,
    VersionDay,
    VersionTotal,
    WeekCount,
)
from candor.storage.synthetic import SyntheticEvents
from tests.support.dataset import DAY1, DAY2, DAY3, WHOLE, event, load_known

if TYPE_CHECKING:
    from pathlib import Path

    from candor.storage.base import Store


@pytest.fixture
def known(store: Store) -> Store:
    """The store (every backend, in-process and in its own process) with the twelve events."""
    load_known(store)
    return store


def test_usage_totals(known: Store) -> None:
    """12 events, 6 failures, 4 installations all new, 10 interactive, 3 commands."""
    assert known.usage_totals(WHOLE, NO_FILTERS) == Totals(12, 6, 4, 4, 10, 3)


def test_usage_totals_of_one_day_and_of_one_version(known: Store) -> None:
    """Day 2: #5, 6, 7, 12 by B and C (C new). Version 1.1.0: #5-11 by A, B, C, D; new on a
    1.1.0 event's day: only C (day 2) and D (day 3)."""
    assert known.usage_totals(TimeRange(DAY2, DAY2), NO_FILTERS) == Totals(4, 2, 2, 1, 2, 2)
    assert known.usage_totals(WHOLE, Filters(cli_version="1.1.0")) == Totals(7, 5, 4, 2, 5, 3)


def test_command_counts(known: Store) -> None:
    """build: 7 runs by A, B, C; deploy: 4 by A, D; test: 1 by C."""
    counts = known.command_counts(WHOLE, NO_FILTERS)
    assert sorted(counts.rows) == [
        Tally("build", 7, 3),
        Tally("deploy", 4, 2),
        Tally("test", 1, 1),
    ]
    assert counts.total == Tally(None, 12, 4)


def test_command_counts_filtered_to_ci(known: Store) -> None:
    """CI runs: C's build and test."""
    counts = known.command_counts(WHOLE, Filters(interactive=False))
    assert sorted(counts.rows) == [Tally("build", 1, 1), Tally("test", 1, 1)]
    assert counts.total == Tally(None, 2, 1)


def test_duration_percentiles_are_nearest_rank(known: Store) -> None:
    """deploy [10, 20, 30, 1000]: p50 is the 2nd value (interpolated would be 25), p90 the 4th;
    build [100, 200, 250, 300, 400, 500, 600]: p50 the 4th, p90 and p99 the 7th."""
    assert sorted(known.duration_percentiles(WHOLE, NO_FILTERS, by_version=False)) == [
        Percentiles("build", None, 7, 300, 600, 600, 600),
        Percentiles("deploy", None, 4, 20, 1000, 1000, 1000),
        Percentiles("test", None, 1, 50, 50, 50, 50),
    ]


def test_duration_percentiles_by_version(known: Store) -> None:
    """build 1.0.0 [100, 200, 250, 300], 1.1.0 [400, 500, 600]; deploy 1.1.0 [10, 20, 30]."""
    assert sorted(known.duration_percentiles(WHOLE, NO_FILTERS, by_version=True)) == [
        Percentiles("build", "1.0.0", 4, 200, 300, 300, 300),
        Percentiles("build", "1.1.0", 3, 500, 600, 600, 600),
        Percentiles("deploy", "1.0.0", 1, 1000, 1000, 1000, 1000),
        Percentiles("deploy", "1.1.0", 3, 20, 30, 30, 30),
        Percentiles("test", "1.1.0", 1, 50, 50, 50, 50),
    ]


def test_error_counts(known: Store) -> None:
    """auth_expired: 3 failures of one installation; compile_error: 2 of two; per command and
    per version: events, failures, installations with a failure."""
    counts = known.error_counts(WHOLE, NO_FILTERS)
    assert sorted(counts.by_code, key=lambda e: e.error_code) == [
        ErrorTally(None, "auth_expired", 3, 1),
        ErrorTally(None, "compile_error", 2, 2),
        ErrorTally(None, "registry_timeout", 1, 1),
    ]
    assert sorted(counts.by_command_and_code) == [
        ErrorTally("build", "compile_error", 2, 2),
        ErrorTally("deploy", "auth_expired", 3, 1),
        ErrorTally("deploy", "registry_timeout", 1, 1),
    ]
    assert sorted(counts.by_command) == [
        FailureTally("build", 7, 2, 2),
        FailureTally("deploy", 4, 4, 2),
        FailureTally("test", 1, 0, 0),
    ]
    assert sorted(counts.by_version) == [
        FailureTally("1.0.0", 5, 1, 1),
        FailureTally("1.1.0", 7, 5, 3),
    ]


def test_installation_counts(known: Store) -> None:
    """Day 1: A, B (new); day 2: B, C (C new); day 3: A, D (D new). Weeks: A, B, C; A, D."""
    counts = known.installation_counts(WHOLE, NO_FILTERS)
    assert sorted(counts.daily) == [
        DayCount(DAY1, 2, 2),
        DayCount(DAY2, 2, 1),
        DayCount(DAY3, 2, 1),
    ]
    assert sorted(counts.weekly) == [WeekCount(DAY1, 3), WeekCount(DAY3, 2)]


def test_a_week_counts_only_the_days_in_the_range(known: Store) -> None:
    """From Tuesday: day 2 only in the first week (B, C)."""
    counts = known.installation_counts(TimeRange(DAY2, DAY3), NO_FILTERS)
    assert sorted(counts.weekly) == [WeekCount(DAY1, 2), WeekCount(DAY3, 2)]


def test_version_counts(known: Store) -> None:
    """1.0.0: A, B on day 1, B on day 2; 1.1.0: B, C on day 2, A, D on day 3."""
    counts = known.version_counts(WHOLE, NO_FILTERS)
    assert sorted(counts.daily, key=lambda v: (v.day, v.cli_version or "")) == [
        VersionDay(DAY1, None, 2),
        VersionDay(DAY1, "1.0.0", 2),
        VersionDay(DAY2, None, 2),
        VersionDay(DAY2, "1.0.0", 1),
        VersionDay(DAY2, "1.1.0", 2),
        VersionDay(DAY3, None, 2),
        VersionDay(DAY3, "1.1.0", 2),
    ]
    assert sorted(counts.versions) == [
        VersionTotal("1.0.0", 2, DAY1),
        VersionTotal("1.1.0", 4, DAY2),
    ]
    assert counts.installations == 4


def test_platform_counts(known: Store) -> None:
    """linux: A and C, 6 runs; macos: B, 3; windows: D, 3. Interactive: A, B, D; CI: C."""
    counts = known.platform_counts(WHOLE, NO_FILTERS)
    assert sorted(counts.os_arch) == [
        Tally("linux-x86_64", 6, 2),
        Tally("macos-aarch64", 3, 1),
        Tally("windows-x86_64", 3, 1),
    ]
    assert sorted(counts.interactive) == [
        InteractiveTally(False, 2, 1),
        InteractiveTally(True, 10, 3),
    ]
    assert counts.total == Tally(None, 12, 4)


def test_dimension_values_most_used_first(known: Store) -> None:
    """By events, ties by name: macos-aarch64 and windows-x86_64 both have 3."""
    assert known.dimension_values(WHOLE) == DimensionValues(
        commands=["build", "deploy", "test"],
        cli_versions=["1.1.0", "1.0.0"],
        os_archs=["linux-x86_64", "macos-aarch64", "windows-x86_64"],
    )


def test_an_empty_range_answers_zeros(known: Store) -> None:
    """No event in the range: zero totals and empty lists, never an error."""
    empty = TimeRange(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert known.usage_totals(empty, NO_FILTERS) == Totals(0, 0, 0, 0, 0, 0)
    assert known.command_counts(empty, NO_FILTERS) == Breakdown([], Tally(None, 0, 0))
    assert known.duration_percentiles(empty, NO_FILTERS, by_version=True) == []
    assert known.installation_counts(empty, NO_FILTERS) == ([], [])
    assert known.version_counts(empty, NO_FILTERS) == ([], [], 0)
    assert known.platform_counts(empty, NO_FILTERS).total == Tally(None, 0, 0)
    assert known.dimension_values(empty) == DimensionValues([], [], [])


def test_an_empty_store_answers_zeros_with_filters(store: Store) -> None:
    """Nothing stored yet, a filter set (the stats API fuzzer's find): zeros, never an error."""
    filters = Filters(cli_version="0.2.1")
    assert store.usage_totals(WHOLE, filters) == Totals(0, 0, 0, 0, 0, 0)
    assert store.command_counts(WHOLE, filters) == Breakdown([], Tally(None, 0, 0))
    assert store.installation_counts(WHOLE, filters) == ([], [])
    assert store.version_counts(WHOLE, filters) == ([], [], 0)
    assert store.platform_counts(WHOLE, filters).total == Tally(None, 0, 0)
    assert store.error_counts(WHOLE, filters) == ([], [], [], [])
    assert store.duration_percentiles(WHOLE, filters, by_version=True) == []


def test_events_committed_just_before_are_counted(known: Store) -> None:
    """An answer counts every event stored before it was asked, however recent."""
    load_known(known, first_day=DAY1)
    assert known.usage_totals(WHOLE, NO_FILTERS).events == 24


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_event_in_order(known: Store, tmp_path: Path, fmt: str) -> None:
    """The file holds the nine fields and received_at, oldest first; a range narrows it."""
    whole = tmp_path / f"all.{fmt}"
    assert known.export_events(str(whole), fmt) == 12
    day = tmp_path / f"day.{fmt}"
    assert known.export_events(str(day), fmt, TimeRange(DAY2, DAY2)) == 4
    if fmt == "csv":
        with whole.open(newline="") as file:
            rows = list(csv.DictReader(file))
        assert list(rows[0]) == [*FIELD_NAMES, "received_at"]
        assert [r["received_at"] for r in rows][:2] == [
            "2025-03-03T10:00:00.000000Z",
            "2025-03-03T10:01:00.000000Z",
        ]
        assert [r["duration_ms"] for r in rows][-1] == "30"  # #11, the last one received
    else:
        assert day.stat().st_size > 0


def test_insert_synthetic_adds_exactly_that_many(store: Store) -> None:
    """Synthetic events are counted by every question at once."""
    end = dt.datetime(2025, 4, 1, 6)
    assert store.insert_synthetic(SyntheticEvents(2_000, days=10, seed=3, end=end)) == 2_000
    assert store.count_events() == 2_000
    totals = store.usage_totals(TimeRange(dt.date(2025, 3, 1), dt.date(2025, 4, 1)), NO_FILTERS)
    assert totals.events == 2_000
    assert totals.installations == totals.new_installations > 0


def top_values_pending(store: Store) -> None:
    """The top-values rule came into the contract after the ClickHouse store was written:
    expected to fail there until it groups as candor.storage.questions says."""
    if not store.url.startswith("duckdb://"):
        pytest.xfail("top values + OTHER not implemented by this backend yet")


def test_a_dimension_with_many_values_is_its_top_ones_and_other(store: Store) -> None:
    """Issue #9: anyone can send 5 000 versions. Questions grouped by version answer for the
    20 most used and one OTHER row, exact over all the rest together: versions 1.0.21-25 have
    5, 4, 3, 2, 1 events from as many installations, and X runs both 1.0.24 and 1.0.25."""
    at = dt.datetime(2025, 3, 3, 12)
    events = []
    for number in range(1, 26):  # version 1.0.k: 26 - k events, each a new installation
        for _ in range(26 - number):
            events.append(
                event(
                    str(uuid.uuid4()), "build", f"1.0.{number}", "linux-x86_64", number, None, True
                )
            )
    x = str(uuid.uuid4())
    events += [event(x, "build", v, "linux-x86_64", 1, None, True) for v in ("1.0.24", "1.0.25")]
    store.insert_events(events, at)
    day = TimeRange(DAY1, DAY1)
    counts = store.version_counts(day, NO_FILTERS)
    if len(counts.versions) != TOP_VALUES["cli_version"] + 1:
        top_values_pending(store)
    named = {v.cli_version: v.installations for v in counts.versions}
    assert len(named) == TOP_VALUES["cli_version"] + 1
    assert named[OTHER] == 15 + 1  # X once, though it ran two of them
    assert named["1.0.1"] == 25 and named["1.0.20"] == 6
    assert counts.installations == 325 + 1
    assert VersionDay(DAY1, OTHER, 16) in counts.daily
    errors = store.error_counts(day, NO_FILTERS)
    assert FailureTally(OTHER, 17, 0, 0) in errors.by_version
    slow = store.duration_percentiles(day, NO_FILTERS, by_version=True)
    # OTHER's durations: 1, 1 (X), 21 ×5, 22 ×4, 23 ×3, 24 ×2, 25: the 9th, 16th, 17th.
    assert Percentiles("build", OTHER, 17, 22, 24, 25, 25) in slow
    assert len(store.dimension_values(day).cli_versions) == 25  # the filter menu lists all


def test_many_commands_are_the_top_ones_and_other(store: Store) -> None:
    """52 commands, one event each (a tie: the smaller names first): 50 and OTHER with 2."""
    names = [f"cmd{number:02d}" for number in range(52)]
    store.insert_events(
        [event(str(uuid.uuid4()), name, "1.0.0", "linux-x86_64", 5, None, True) for name in names],
        dt.datetime(2025, 3, 3, 12),
    )
    counts = store.command_counts(TimeRange(DAY1, DAY1), NO_FILTERS)
    if len(counts.rows) != TOP_VALUES["command"] + 1:
        top_values_pending(store)
    assert len(counts.rows) == TOP_VALUES["command"] + 1
    assert Tally(OTHER, 2, 2) in counts.rows and Tally("cmd00", 1, 1) in counts.rows
    assert Tally("cmd51", 1, 1) not in counts.rows
    assert counts.total == Tally(None, 52, 52)
    assert store.usage_totals(TimeRange(DAY1, DAY1), NO_FILTERS).commands == 52
