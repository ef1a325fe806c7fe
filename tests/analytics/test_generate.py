"""`generate_events` makes valid, reproducible data with the patterns the dashboard should show."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from candor.analytics import queries
from candor.analytics.filters import Filters, TimeRange
from candor.analytics.generate import (
    BURST,
    LOOP_CODE,
    SLOW_VERSION,
    VERSIONS,
    generate_events,
)
from candor.schema import FIELD_NAMES, validate_event
from candor.storage import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from candor.storage.base import Store

EVENTS = 20_000
DAYS = 30
END = dt.datetime(2025, 4, 1, 6, 30)
RANGE = TimeRange(dt.date(2025, 3, 2), dt.date(2025, 4, 1))


@pytest.fixture
def generated(store: Store) -> Store:
    """The store with 20 000 generated events over 30 days."""
    assert generate_events(store, EVENTS, days=DAYS, seed=7, end=END) == EVENTS
    return store


def rows(store: Store) -> list[tuple[object, ...]]:
    columns = ", ".join(FIELD_NAMES)
    return store.query(f"SELECT {columns}, received_at FROM events ORDER BY ALL")


def test_every_event_is_valid_and_in_the_window(generated: Store) -> None:
    """Exactly N events, each a valid schema-1.0 event, all within the `days` before `end`."""
    found = rows(generated)
    assert len(found) == EVENTS
    for row in found:
        fields = dict(zip(FIELD_NAMES, row, strict=False))
        fields["installation_id"] = str(fields["installation_id"])
        assert validate_event(fields) == [], fields
        assert END - dt.timedelta(days=DAYS) <= row[-1] < END


def test_same_seed_same_data(generated: Store, tmp_path: Path) -> None:
    """A seed reproduces the data exactly; another seed gives other data."""
    again, other = open_store(str(tmp_path / "a.duckdb")), open_store(str(tmp_path / "b.duckdb"))
    try:
        generate_events(again, EVENTS, days=DAYS, seed=7, end=END)
        generate_events(other, EVENTS, days=DAYS, seed=8, end=END)
        assert rows(again) == rows(generated)
        assert rows(other) != rows(generated)
    finally:
        again.close()
        other.close()


def test_popularity_versions_and_platforms(generated: Store) -> None:
    """build leads by far, every release shows up in order, CI is a real minority."""
    used = queries.commands(generated, RANGE)
    assert [c.command for c in used[:3]] == ["build", "deploy", "test"]
    assert used[0].events > 2 * used[1].events > used[-1].events
    assert [v.cli_version for v in queries.adoption(generated, RANGE).versions] == [
        v for v, _ in VERSIONS
    ]
    share = queries.overview(generated, RANGE).interactive_share
    assert 0.4 < share < 0.9


def test_the_slow_release_is_flagged(generated: Store) -> None:
    """SLOW_VERSION's build is flagged as a regression against the release before it."""
    flagged = {
        (r.command, r.cli_version)
        for r in queries.performance(generated, RANGE).by_version
        if r.regression
    }
    assert ("build", SLOW_VERSION) in flagged
    assert all(version == SLOW_VERSION for _, version in flagged)


def test_one_installation_fails_in_a_loop_and_a_burst_stands_out(generated: Store) -> None:
    """The loop's error comes from one installation many times; the burst days dominate."""
    top = {e.error_code: e for e in queries.errors(generated, RANGE).top}
    assert top[LOOP_CODE].installations == 1 and top[LOOP_CODE].events >= 3
    command, code, start, end, _ = BURST
    daily = [
        queries.errors(generated, TimeRange(day, day), Filters(command=command)).top
        for day in (RANGE.start + dt.timedelta(days=n) for n in range(DAYS))
    ]
    counts = [next((e.events for e in day if e.error_code == code), 0) for day in daily]
    burst_days = range(int(start * DAYS), int(end * DAYS) + 1)
    inside = max(counts[n] for n in burst_days)
    outside = max(
        c for n, c in enumerate(counts) if n not in burst_days and abs(n - burst_days[0]) > 1
    )
    assert inside > 3 * outside


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"events": 0}, "events"), ({"days": 0}, "days"), ({"seed": -1}, "seed")],
)
def test_bad_arguments(store: Store, kwargs: dict[str, int], problem: str) -> None:
    """Nonsense sizes are refused before any SQL runs."""
    arguments = {"events": 10, "days": 1, "seed": 1} | kwargs
    with pytest.raises(ValueError, match=problem):
        generate_events(store, arguments.pop("events"), **arguments)
