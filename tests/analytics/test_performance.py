"""The performance view flags a release whose p90 is markedly worse than the previous one's."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from candor.analytics import queries
from candor.analytics.filters import Filters, TimeRange
from candor.analytics.rows import REGRESSION_MIN_EVENTS, REGRESSION_RATIO
from tests.support.dataset import A, B, event

if TYPE_CHECKING:
    from candor.storage.base import Store

DAY = dt.date(2025, 6, 2)


def load_releases(store: Store, durations: dict[str, int], runs: int) -> None:
    """`runs` builds per version, all with the version's duration (so every percentile is it)."""
    for version, ms in durations.items():
        events = [
            event(A if n % 2 else B, "build", version, "linux-x86_64", ms, None, True)
            for n in range(runs)
        ]
        store.insert_events(events, dt.datetime.combine(DAY, dt.time(12)))


def test_a_slower_release_is_flagged(store: Store) -> None:
    """1.9.0 → 1.10.0 is 30 % slower (flagged); 1.10.0 → 1.11.0 only 5 % (not); order is numeric."""
    load_releases(store, {"1.11.0": 1365, "1.9.0": 1000, "1.10.0": 1300}, REGRESSION_MIN_EVENTS)
    rows = queries.performance(store, TimeRange(DAY, DAY)).by_version
    assert [(r.cli_version, r.previous_version, r.regression) for r in rows] == [
        ("1.9.0", None, False),
        ("1.10.0", "1.9.0", True),
        ("1.11.0", "1.10.0", False),
    ]
    assert rows[1].p90_ratio == pytest.approx(1.3)
    assert rows[1].p90_ratio >= REGRESSION_RATIO


def test_too_few_runs_are_not_flagged(store: Store) -> None:
    """The same slowdown on fewer than REGRESSION_MIN_EVENTS runs is shown but not flagged."""
    load_releases(store, {"1.0.0": 1000, "1.1.0": 2000}, REGRESSION_MIN_EVENTS - 1)
    rows = queries.performance(store, TimeRange(DAY, DAY)).by_version
    assert rows[1].p90_ratio == 2.0 and rows[1].regression is False


def test_version_filter_leaves_nothing_to_compare(store: Store) -> None:
    """Filtered to one version, there is no previous release in view, so no flag."""
    load_releases(store, {"1.0.0": 1000, "1.1.0": 2000}, REGRESSION_MIN_EVENTS)
    rows = queries.performance(store, TimeRange(DAY, DAY), Filters(cli_version="1.1.0")).by_version
    assert [(r.cli_version, r.previous_version, r.regression) for r in rows] == [
        ("1.1.0", None, False)
    ]
