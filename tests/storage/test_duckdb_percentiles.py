"""DuckDB's duration percentiles: exact nearest-rank values from its duration buckets.

The store finds each percentile's bucket from the runs per bucket, then sorts only that bucket's
durations (`candor.storage.duckdb.questions.duration_percentiles`). These tests hold it to the
definition (`candor.storage.questions`) on random data, durations at every bucket edge, and
millions of runs under a memory limit that sorting them all does not fit in.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from candor.storage.duckdb import DuckDBStore, rollups
from candor.storage.questions import NO_FILTERS, Filters, Percentiles, TimeRange
from tests.support.dataset import event

if TYPE_CHECKING:
    from collections.abc import Iterator

DAYS = (dt.date(2025, 3, 3), dt.date(2025, 3, 4))
COMMANDS = ("build", "deploy", "test")
VERSIONS = ("1.0.0", "1.1.0")
INSTALLATIONS = [str(uuid.UUID(int=n, version=4)) for n in range(1, 4)]
# Durations either side of every power of two: where one bucket ends and the next begins.
EDGES = sorted({(1 << k) + d for k in range(32) for d in (-1, 0, 1)} - {1 << 31, (1 << 31) + 1})
durations = st.one_of(
    st.integers(0, 40), st.sampled_from(EDGES), st.integers(0, 2**31 - 1), st.integers(900, 5000)
)
runs = st.tuples(
    st.sampled_from(COMMANDS),
    st.sampled_from(VERSIONS),
    durations,
    st.booleans(),
    st.sampled_from(DAYS),
)


def nearest_rank(values: list[int], percent: int) -> int:
    """The definition: the smallest value with at least `percent` % of the values at or below."""
    ordered = sorted(values)
    return ordered[(percent * len(ordered) + 99) // 100 - 1]


def expected(
    events: list[tuple[str, str, int, bool, dt.date]],
    time_range: TimeRange,
    filters: Filters,
    *,
    by_version: bool,
) -> list[Percentiles]:
    groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for command, version, ms, interactive, day in events:
        if not time_range.start <= day <= time_range.end:
            continue
        if filters.command not in (None, command) or filters.interactive not in (
            None,
            interactive,
        ):
            continue
        groups[command, version if by_version else None].append(ms)
    return sorted(
        Percentiles(cmd, ver, len(ms), *(nearest_rank(ms, p) for p in (50, 90, 99)), max(ms))
        for (cmd, ver), ms in groups.items()
    )


@pytest.fixture
def store() -> Iterator[DuckDBStore]:
    opened = DuckDBStore(":memory:")
    try:
        yield opened
    finally:
        opened.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(runs, min_size=1, max_size=40), min_size=1, max_size=4),
    filters=st.sampled_from([NO_FILTERS, Filters(command="build"), Filters(interactive=False)]),
    compact=st.booleans(),
    one_day=st.booleans(),
)
def test_percentiles_are_the_nearest_rank_of_the_raw_durations(
    batches: list[list[tuple[str, str, int, bool, dt.date]]],
    filters: Filters,
    compact: bool,
    one_day: bool,
) -> None:
    """Whatever the durations, however they were committed (several folds, compacted or not),
    every percentile is the nearest-rank value of the durations in the range and filters."""
    store = DuckDBStore(":memory:")
    try:
        for number, batch in enumerate(batches):
            for day in DAYS:
                rows = [
                    event(INSTALLATIONS[number % 3], cmd, ver, "linux-x86_64", ms, None, inter)
                    for cmd, ver, ms, inter, on in batch
                    if on == day
                ]
                if rows:
                    store.insert_events(rows, dt.datetime.combine(day, dt.time(12, number)))
        if compact:  # one row per key again: the merged lists must give the same answers
            store.fold_rollups(force=True)
            rollups.compact(store._con, DAYS[0])
        time_range = TimeRange(DAYS[1], DAYS[1]) if one_day else TimeRange(*DAYS)
        events = [run for batch in batches for run in batch]
        for by_version in (False, True):
            found = store.duration_percentiles(time_range, filters, by_version=by_version)
            assert sorted(found) == expected(events, time_range, filters, by_version=by_version)
    finally:
        store.close()


def test_a_bucket_edge_is_exact(store: DuckDBStore) -> None:
    """1023, 1024 and 1025 ms fall either side of a bucket edge: each percentile is one of them."""
    rows = [event(INSTALLATIONS[0], "build", "1.0.0", "linux-x86_64", ms, None, True)
            for ms in (1023, 1024, 1024, 1025, 2**31 - 1)]  # fmt: skip
    store.insert_events(rows, dt.datetime(2025, 3, 3, 12))
    assert store.duration_percentiles(TimeRange(*DAYS), NO_FILTERS, by_version=False) == [
        Percentiles("build", None, 5, 1024, 2**31 - 1, 2**31 - 1, 2**31 - 1)
    ]


MILLIONS = 4_000_000
SMALL_LIMIT = "40MB"


@pytest.fixture(scope="module")
def millions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[object]]]:
    """MILLIONS runs of one command over three days, and their exact percentiles (computed
    with no memory limit by sorting them all)."""
    path = str(tmp_path_factory.mktemp("millions") / "events.duckdb")
    loader = DuckDBStore(path)
    try:
        loader.execute(
            "INSERT INTO events SELECT '1.0', "
            "('00000000-0000-4000-8000-' || lpad((range % 100)::VARCHAR, 12, '0'))::UUID, "
            "'1.0.' || (range % 3), 'build', 'linux-x86_64', (hash(range) % 1000000)::BIGINT, "
            "'success', NULL, true, TIMESTAMP '2025-03-03 00:00:01' + INTERVAL (range % 3) DAY "
            f"FROM range({MILLIONS})"
        )
        loader.execute(rollups.rebuild_sql())
        ((exact,),) = loader.query(
            "SELECT [count(*), quantile_disc(duration_ms, 0.5), quantile_disc(duration_ms, 0.9), "
            "quantile_disc(duration_ms, 0.99), max(duration_ms)] FROM events"
        )
    finally:
        loader.close()
    yield path, exact


def test_millions_of_runs_fit_in_a_small_memory_limit(
    millions: tuple[str, list[object]],
) -> None:
    """Sorting every duration of a long range needs memory in proportion to the runs (10 M
    events ran the collector's 96 MB out: the dashboard's 91 days failed); the percentiles of
    4 M runs under 40 MB are exact."""
    path, (events, p50, p90, p99, top) = millions
    store = DuckDBStore(path, memory_limit=SMALL_LIMIT)
    try:
        found = store.duration_percentiles(
            TimeRange(dt.date(2025, 3, 3), dt.date(2025, 3, 5)), NO_FILTERS, by_version=False
        )
    finally:
        store.close()
    assert found == [Percentiles("build", None, events, p50, p90, p99, top)]  # type: ignore[arg-type]
