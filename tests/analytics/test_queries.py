"""Every answer of the query layer against values computed by hand (tests/support/dataset.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import pytest

from candor.analytics import queries
from candor.analytics.answers import (
    CommandUsage,
    DailyActive,
    ErrorCount,
    FailureRate,
    Latency,
    Share,
    VersionShare,
    VersionSummary,
    WeeklyActive,
    to_jsonable,
)
from candor.analytics.filters import Filters, TimeRange
from tests.support.dataset import DAY1, DAY2, DAY3, INSTALLATIONS, WHOLE

if TYPE_CHECKING:
    from candor.storage.base import Store


def test_overview(known: Store) -> None:
    """12 events, 6 failures, 4 installations all new, 10 of 12 interactive, 3 commands."""
    answer = queries.overview(known, WHOLE)
    assert (answer.events, answer.failures, answer.installations) == (12, 6, 4)
    assert answer.failure_rate == pytest.approx(0.5)
    assert answer.new_installations == 4
    assert answer.interactive_share == pytest.approx(10 / 12)
    assert answer.commands == 3


def test_commands_counts_invocations_and_installations(known: Store) -> None:
    """build: 7 runs by A, B, C; deploy: 4 runs by A, D; test: 1 run by C."""
    assert queries.commands(known, WHOLE) == [
        CommandUsage("build", 7, 3, pytest.approx(7 / 12), pytest.approx(3 / 4)),
        CommandUsage("deploy", 4, 2, pytest.approx(4 / 12), pytest.approx(2 / 4)),
        CommandUsage("test", 1, 1, pytest.approx(1 / 12), pytest.approx(1 / 4)),
    ]


def test_percentiles_are_nearest_rank(known: Store) -> None:
    """deploy [10, 20, 30, 1000]: p50 is the 2nd value (interpolated: 25), p90 the 4th."""
    assert queries.latency_by_command(known, WHOLE) == [
        Latency("deploy", 4, 20, 1000, 1000, 1000),
        Latency("build", 7, 300, 600, 600, 600),
        Latency("test", 1, 50, 50, 50, 50),
    ]


def test_percentiles_per_version_compare_with_the_previous_release(known: Store) -> None:
    """build 1.0.0 [100, 200, 250, 300] → 1.1.0 [400, 500, 600]: p90 doubles, too few to flag."""
    rows = {(r.command, r.cli_version): r for r in queries.performance(known, WHOLE).by_version}
    old, new = rows["build", "1.0.0"], rows["build", "1.1.0"]
    assert (old.events, old.p50, old.p90, old.p99, old.max) == (4, 200, 300, 300, 300)
    assert (new.events, new.p50, new.p90, new.p99, new.max) == (3, 500, 600, 600, 600)
    assert old.previous_version is None and old.p90_ratio is None
    assert new.previous_version == "1.0.0"
    assert new.p90_ratio == pytest.approx(2.0)
    assert new.regression is False  # 3 and 4 runs: below REGRESSION_MIN_EVENTS
    assert rows["deploy", "1.1.0"].p90_ratio == pytest.approx(30 / 1000)
    assert rows["test", "1.1.0"].previous_version is None
    assert len(rows) == 5


def test_errors_by_count_and_by_installations(known: Store) -> None:
    """auth_expired: 3 errors but 1 installation; compile_error: 2 errors from 2 installations."""
    answer = queries.errors(known, WHOLE)
    assert answer.top == [
        ErrorCount("auth_expired", 3, 1),
        ErrorCount("compile_error", 2, 2),
        ErrorCount("registry_timeout", 1, 1),
    ]
    assert answer.by_command == [
        ErrorCount("compile_error", 2, 2, "build"),
        ErrorCount("auth_expired", 3, 1, "deploy"),
        ErrorCount("registry_timeout", 1, 1, "deploy"),
    ]


def test_failure_rates_per_command_and_version(known: Store) -> None:
    """Rates by events, and how many installations saw a failure (A; B and C; D)."""
    answer = queries.errors(known, WHOLE)
    assert answer.failure_by_command == [
        FailureRate("deploy", 4, 4, 1.0, 2),
        FailureRate("build", 7, 2, pytest.approx(2 / 7), 2),
        FailureRate("test", 1, 0, 0.0, 0),
    ]
    assert answer.failure_by_version == [
        FailureRate("1.0.0", 5, 1, pytest.approx(1 / 5), 1),
        FailureRate("1.1.0", 7, 5, pytest.approx(5 / 7), 3),
    ]


def test_daily_and_weekly_active_installations(known: Store) -> None:
    """Every day of the range is listed; a week cut by the range's end is marked partial."""
    answer = queries.installations(known, WHOLE)
    expected = {DAY1: (2, 2), DAY2: (2, 1), DAY3: (2, 1)}
    assert answer.daily == [
        DailyActive(day, *expected.get(day, (0, 0)))
        for day in (DAY1 + dt.timedelta(days=n) for n in range(8))
    ]
    assert answer.weekly == [WeeklyActive(DAY1, 3, False), WeeklyActive(DAY3, 2, True)]


def test_new_installations_only_count_first_days(known: Store) -> None:
    """From Tuesday on, A and B were already known: only C and D are new."""
    answer = queries.overview(known, TimeRange(DAY2, DAY3))
    assert (answer.installations, answer.new_installations) == (4, 2)


def test_version_adoption(known: Store) -> None:
    """On Tuesday B ran both versions: 1 of 2 active installations on 1.0.0, 2 of 2 on 1.1.0."""
    answer = queries.adoption(known, WHOLE)
    assert answer.daily == [
        VersionShare(DAY1, "1.0.0", 2, 1.0),
        VersionShare(DAY2, "1.0.0", 1, 0.5),
        VersionShare(DAY2, "1.1.0", 2, 1.0),
        VersionShare(DAY3, "1.1.0", 2, 1.0),
    ]
    assert answer.versions == [
        VersionSummary("1.0.0", 2, 0.5, 0.0, DAY1),
        VersionSummary("1.1.0", 4, 1.0, 1.0, DAY2),
    ]


def test_platforms(known: Store) -> None:
    """linux: 6 events from A and C; CI (C only): 2 of 12 events, 1 of 4 installations."""
    answer = queries.platforms(known, WHOLE)
    assert answer.os_arch == [
        Share("linux-x86_64", 6, 2, 0.5, 0.5),
        Share("macos-aarch64", 3, 1, 0.25, 0.25),
        Share("windows-x86_64", 3, 1, 0.25, 0.25),
    ]
    assert answer.interactive == [
        Share("interactive", 10, 3, pytest.approx(10 / 12), 0.75),
        Share("ci", 2, 1, pytest.approx(2 / 12), 0.25),
    ]


@pytest.mark.parametrize(
    ("filters", "events", "failures", "installations", "new"),
    [
        (Filters(command="build"), 7, 2, 3, 3),  # D never ran build
        (Filters(cli_version="1.1.0"), 7, 5, 4, 2),  # C and D are new on 1.1.0 days
        (Filters(os_arch="linux-x86_64", interactive=False), 2, 1, 1, 1),  # C's CI runs
        (Filters(interactive=True, command="deploy"), 4, 4, 2, 2),
        (Filters(command="init"), 0, 0, 0, 0),
    ],
)
def test_filters(
    known: Store, filters: Filters, events: int, failures: int, installations: int, new: int
) -> None:
    """Each filter narrows counts and distinct installations as computed by hand."""
    answer = queries.overview(known, WHOLE, filters)
    assert (answer.events, answer.failures, answer.installations) == (
        events,
        failures,
        installations,
    )
    assert answer.new_installations == new


def test_filters_apply_to_percentiles_and_ranges_to_days(known: Store) -> None:
    """Tuesday alone: build ran [250, 400, 500] → p50 400; the CI filter leaves C's 500 ms."""
    tuesday = TimeRange(DAY2, DAY2)
    by_command = {r.command: r for r in queries.latency_by_command(known, tuesday)}
    assert (by_command["build"].events, by_command["build"].p50) == (3, 400)
    ci = queries.latency_by_command(known, tuesday, Filters(interactive=False, command="build"))
    assert ci == [Latency("build", 1, 500, 500, 500, 500)]


def test_dimensions_for_filter_menus(known: Store) -> None:
    """Commands and platforms by use (ties by name), versions in release order."""
    answer = queries.dimensions(known, WHOLE)
    assert answer.commands == ["build", "deploy", "test"]
    assert answer.cli_versions == ["1.0.0", "1.1.0"]
    assert answer.os_archs == ["linux-x86_64", "macos-aarch64", "windows-x86_64"]


def test_no_answer_names_an_installation(known: Store) -> None:
    """The whole summary, as JSON, holds no installation ID and no per-installation field."""
    text = json.dumps(to_jsonable(queries.summary(known, WHOLE)))
    for installation_id in INSTALLATIONS:
        assert installation_id not in text
    assert "installation_id" not in text and "iid" not in text


def test_empty_store_answers_zeros(store: Store) -> None:
    """With no events every section answers, with zero counts and empty lists."""
    answer = queries.summary(store, WHOLE)
    assert queries.overview(store, WHOLE).events == 0
    assert queries.commands(store, WHOLE) == []
    assert queries.errors(store, WHOLE).top == []
    assert [d.active for d in queries.installations(store, WHOLE).daily] == [0] * 8
    assert set(answer) == set(queries.SECTIONS)
