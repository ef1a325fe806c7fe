"""Issue #9: analytics memory bounded whatever the cardinality that senders choose.

300 000 events with distinct installation IDs and 5 000 versions made every question that
counts installations per version (a bitmap per group, sized by the highest installation
number) run out of DuckDB's memory: /v1/stats and the dashboard answered 503. Under the same
small limit the answers now come, exact (checked against COUNT(DISTINCT) over the raw events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from candor.analytics import queries
from candor.storage.duckdb import DuckDBStore, rollups
from candor.storage.duckdb.questions import BITMAP_BUDGET_BYTES
from candor.storage.questions import NO_FILTERS, OTHER, TOP_VALUES, TimeRange

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

EVENTS = 300_000
VERSIONS = 5_000
DAYS = 7
MEMORY_LIMIT = "64MB"
RANGE = TimeRange.last(DAYS)


@pytest.fixture(scope="module")
def flooded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    """EVENTS events, each from its own installation, over VERSIONS versions and DAYS days."""
    path = tmp_path_factory.mktemp("flood") / "events.duckdb"
    loader = DuckDBStore(str(path))
    loader.execute(
        "INSERT INTO events SELECT '1.0', "
        "(substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::UUID, "
        f"'9.' || (range % {VERSIONS}), 'build', 'linux-x86_64', range % 1000, "
        "'success', NULL, true, "
        f"current_date::TIMESTAMP - INTERVAL (range % {DAYS}) DAY + INTERVAL 1 SECOND "
        f"FROM (SELECT range, md5(range::VARCHAR) AS h FROM range({EVENTS}))"
    )
    loader.execute(rollups.rebuild_sql())
    loader.close()
    store = DuckDBStore(str(path), memory_limit=MEMORY_LIMIT)
    try:
        yield store
    finally:
        store.close()


def exact(store: DuckDBStore, sql: str) -> list[tuple[object, ...]]:
    return store.query(sql)


def test_versions_answer_within_the_limit_and_exactly(flooded: DuckDBStore) -> None:
    counts = flooded.version_counts(RANGE, NO_FILTERS)
    assert counts.installations == EVENTS
    versions = {v.cli_version: v.installations for v in counts.versions}
    assert len(versions) == TOP_VALUES["cli_version"] + 1
    named = sum(n for version, n in versions.items() if version != OTHER)
    assert named + versions[OTHER] == EVENTS  # each installation ran one version
    adoption = queries.adoption(flooded, RANGE)  # the dashboard's own shaping on top
    assert len(adoption.versions) == TOP_VALUES["cli_version"] + 1


def test_daily_installations_need_passes_and_add_up_exactly(flooded: DuckDBStore) -> None:
    """A year of days × 300 000 installations is more bitmap than the budget: several passes
    over installation numbers, whose counts add up to the exact distinct counts."""
    year = TimeRange.last(366)
    assert 366 * 2 * EVENTS // 8 > BITMAP_BUDGET_BYTES  # this question does need passes
    daily = flooded.installation_counts(year, NO_FILTERS).daily
    expected = exact(
        flooded,
        "SELECT received_at::DATE, count(DISTINCT installation_id) FROM events GROUP BY 1",
    )
    assert sorted((d.day, d.active) for d in daily) == sorted(expected)
    assert sum(d.new for d in daily) == EVENTS


def test_the_whole_dashboard_answers(flooded: DuckDBStore) -> None:
    answers = queries.summary(flooded, RANGE)
    overview = answers["overview"]
    assert overview.installations == EVENTS  # type: ignore[attr-defined]
    assert overview.events == EVENTS  # type: ignore[attr-defined]


FOLD_LIMIT = "48MB"  # below the landed fold's need when it compacted the reach bitmaps at once
FOLD_BATCH = 20_000


def test_a_flood_folds_and_compacts_within_the_limit(tmp_path: Path) -> None:
    """EVENTS events of one day, each from its own installation over VERSIONS versions, folded
    batch by batch (compacting as the collector does) under a small limit: the per-value
    bitmaps (one per version and block of installation numbers) stay within it and exact."""
    import duckdb

    path = tmp_path / "events.duckdb"
    DuckDBStore(str(path)).close()
    con = duckdb.connect(str(path))
    try:
        con.execute(f"SET memory_limit = '{FOLD_LIMIT}'")
        for lo in range(0, EVENTS, FOLD_BATCH):
            con.execute("BEGIN")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE batch AS SELECT '1.0' AS event_version, "
                "(substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::UUID "
                f"AS installation_id, '9.' || (range % {VERSIONS}) AS cli_version, "
                "'build' AS command, 'linux-x86_64' AS os_arch, range % 1000 AS duration_ms, "
                "'success' AS status, NULL::VARCHAR AS error_code, true AS is_interactive, "
                "current_date::TIMESTAMP + INTERVAL 1 SECOND AS received_at "
                f"FROM (SELECT range, md5(range::VARCHAR) AS h FROM range({lo}, {lo + FOLD_BATCH}))"
            )
            con.execute("INSERT INTO events SELECT * FROM batch")
            rollups.update(con, "batch", compact_after=EVENTS // 6)
            con.execute("COMMIT")
        reach = con.execute(
            "SELECT value, sum(bit_count(b)) FROM (SELECT value, block, bit_or(active) AS b "
            "FROM rollup_daily_reach WHERE dimension = 'cli_version' GROUP BY ALL) "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        raw = con.execute(
            "SELECT cli_version, count(DISTINCT installation_id) FROM events "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    assert len(reach) == VERSIONS
    assert reach == raw
