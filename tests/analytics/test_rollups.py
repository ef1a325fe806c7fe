"""The rollups: folded in per commit, compacted, rebuilt, pruned, and always the same numbers."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb
import pytest

from candor.analytics import queries
from candor.storage.duckdb import rollups
from candor.storage.duckdb.store import events_ddl
from tests.support.dataset import DAY1, DAY2, DAY3, ROWS, WHOLE, event, load_known

if TYPE_CHECKING:
    from collections.abc import Iterator

    from candor.storage.base import Store

USAGE_TOTALS = (
    "SELECT day, iid, command, cli_version, os_arch, is_interactive, is_new, sum(events), "
    "sum(failures), count(*) FROM rollup_daily_usage GROUP BY ALL ORDER BY ALL"
)
ERROR_TOTALS = (
    "SELECT day, iid, command, error_code, sum(events), count(*) FROM rollup_daily_errors "
    "GROUP BY ALL ORDER BY ALL"
)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the events table and the rollup tables."""
    connection = duckdb.connect()
    connection.execute(events_ddl())
    rollups.create(connection)
    yield connection
    connection.close()


def insert(con: duckdb.DuckDBPyConnection, rows: list[tuple[object, ...]], **kwargs: int) -> None:
    """Insert dataset ROWS as one commit would, and fold them into the rollups."""
    batch = [
        (*event(*fields).values(), dt.datetime.combine(day, dt.time(12))) for *fields, day in rows
    ]
    con.execute(events_ddl("batch", temporary=True))
    appender = con.appender("batch")
    appender.append_rows(batch)
    appender.flush()
    con.execute("INSERT INTO events SELECT * FROM batch")
    rollups.update(con, "batch", **kwargs)
    con.execute("DROP TABLE batch")


def snapshot(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    usage = [row[:-1] for row in con.execute(USAGE_TOTALS).fetchall()]
    errors = [row[:-1] for row in con.execute(ERROR_TOTALS).fetchall()]
    installations = con.execute(
        "SELECT iid, installation_id, first_seen FROM rollup_installations ORDER BY iid"
    ).fetchall()
    return usage, errors, installations


def test_incremental_rollups_equal_a_rebuild(known: Store) -> None:
    """Twelve commits folded one by one give the same rollups as recomputing from events."""
    before = queries.summary(known, WHOLE)
    usage = [row[:-1] for row in known.query(USAGE_TOTALS)]  # sums per key, without row counts
    errors = [row[:-1] for row in known.query(ERROR_TOTALS)]
    known.execute(rollups.rebuild_sql())
    assert [row[:-1] for row in known.query(USAGE_TOTALS)] == usage
    assert [row[:-1] for row in known.query(ERROR_TOTALS)] == errors
    assert queries.summary(known, WHOLE) == before


def test_compaction_leaves_one_row_per_key(con: duckdb.DuckDBPyConnection) -> None:
    """The same keys committed three times make three rows each until compacted, sums kept."""
    for _ in range(3):
        insert(con, list(ROWS))
    assert {row[-1] for row in con.execute(USAGE_TOTALS).fetchall()} == {3}
    before = snapshot(con)
    rollups.compact(con, DAY1)
    assert {row[-1] for row in con.execute(USAGE_TOTALS).fetchall()} == {1}
    assert {row[-1] for row in con.execute(ERROR_TOTALS).fetchall()} == {1}
    assert snapshot(con) == before
    rollups.rebuild(con)
    assert snapshot(con) == before


def test_update_compacts_after_enough_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Past the threshold of appended rows, update() compacts the days touched since the last."""
    insert(con, list(ROWS[:2]), compact_after=100)
    insert(con, list(ROWS[:2]), compact_after=100)
    assert con.execute("SELECT pending_rows FROM rollup_state").fetchall() == [(2,)]
    assert con.execute("SELECT count(*) FROM rollup_daily_usage").fetchall() == [(2,)]
    insert(con, list(ROWS[:2]), compact_after=3)
    assert con.execute("SELECT pending_rows, dirty_from FROM rollup_state").fetchall() == [
        (0, None)
    ]
    assert con.execute("SELECT count(*), sum(events) FROM rollup_daily_usage").fetchall() == [
        (1, 6)
    ]


def test_create_backfills_an_existing_store(con: duckdb.DuckDBPyConnection) -> None:
    """Events present before the rollups existed (or with an older layout) are rolled up."""
    insert(con, list(ROWS))
    expected = snapshot(con)
    con.execute("UPDATE rollup_state SET layout = layout - 1")
    con.execute("DELETE FROM rollup_daily_usage")
    rollups.create(con)
    assert snapshot(con) == expected
    for table in rollups.TABLES:
        con.execute(f"DROP TABLE {table}")
    rollups.create(con)
    assert snapshot(con) == expected


def test_prune_applies_retention_to_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Days wholly before the cutoff go, and installations with no day left are forgotten."""
    insert(con, list(ROWS))
    rollups.prune(con, dt.datetime.combine(DAY3, dt.time(9)))
    days = con.execute("SELECT DISTINCT day FROM rollup_daily_usage").fetchall()
    assert days == [(DAY3,)]
    assert con.execute(
        "SELECT count(*) FROM rollup_daily_errors WHERE day < ?", [DAY3]
    ).fetchall() == [(0,)]
    left = con.execute("SELECT count(*) FROM rollup_installations").fetchall()
    assert left == [(2,)]  # A and D, active on DAY3; B and C only before it


def test_installation_numbers_are_dense_and_stable(con: duckdb.DuckDBPyConnection) -> None:
    """Each installation gets the next number once, in order of first sight, across commits."""
    insert(con, [ROWS[0]])
    insert(con, [ROWS[3], ROWS[1]])
    insert(con, [ROWS[5], ROWS[4]])
    numbers = con.execute("SELECT iid FROM rollup_installations ORDER BY iid").fetchall()
    assert numbers == [(1,), (2,), (3,)]
    first_seen = con.execute(
        "SELECT first_seen::DATE FROM rollup_installations ORDER BY iid"
    ).fetchall()
    assert first_seen == [(DAY1,), (DAY1,), (DAY2,)]


def test_answers_follow_new_commits(known: Store) -> None:
    """A commit after the first answers is counted at once: rollups move with the events."""
    assert queries.overview(known, WHOLE).events == 12
    load_known(known)
    answer = queries.overview(known, WHOLE)
    assert (answer.events, answer.installations, answer.new_installations) == (24, 4, 4)


def test_prune_drops_the_old_days_of_every_rollup(con: duckdb.DuckDBPyConnection) -> None:
    """Retention applies to each per-day table (counts, durations, bitmaps too), and the days
    kept answer as before: DAY3's rows are all that is left of each."""
    insert(con, list(ROWS))
    day3 = {
        table: con.execute(f"SELECT count(*) FROM {table} WHERE day = ?", [DAY3]).fetchall()
        for table in rollups.COMPACTED
    }
    rollups.prune(con, dt.datetime.combine(DAY3, dt.time(9)))
    for table in rollups.COMPACTED:
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == day3[table], table
        assert day3[table] != [(0,)], table


# What the per-day rollups without installations (and the daily bitmaps, by their counts: a
# rebuild numbers installations in another order) hold, whatever their rows.
DAILY_TOTALS = (
    "SELECT day, command, cli_version, os_arch, is_interactive, sum(events), sum(failures) "
    "FROM rollup_daily_counts GROUP BY ALL ORDER BY ALL",
    "SELECT day, command, cli_version, os_arch, is_interactive, bucket, sum(runs), "
    "max(slowest), list_sort(flatten(list(durations))) FROM rollup_daily_durations "
    "GROUP BY ALL ORDER BY ALL",
    "SELECT day, sum(bit_count(a)), sum(bit_count(n)) FROM (SELECT day, block, "
    "bit_or(active) AS a, bit_or(new) AS n FROM rollup_daily_active GROUP BY ALL) "
    "GROUP BY day ORDER BY day",
)


def test_daily_counts_durations_and_bitmaps_fold_as_they_rebuild(known: Store) -> None:
    """The twelve events folded one commit at a time hold what a rebuild computes: each
    duration once in its bucket, each day's active and new installations."""
    queries.overview(known, WHOLE)  # a question folds what is pending
    folded = [known.query(sql) for sql in DAILY_TOTALS]
    assert sum(len(row[-1]) for row in folded[1]) == len(ROWS)
    assert [(day, active, new) for day, active, new in folded[2]] == [
        (DAY1, 2, 2),
        (DAY2, 2, 1),
        (DAY3, 2, 1),
    ]
    known.execute(rollups.rebuild_sql())
    assert [known.query(sql) for sql in DAILY_TOTALS] == folded


# Installations per day and value of each dimension, from the reach bitmaps and from the events.
REACH_COUNTS = (
    "SELECT day, dimension, value, sum(bit_count(b)) FROM (SELECT day, dimension, value, block, "
    "bit_or(active) AS b FROM rollup_daily_reach GROUP BY ALL) GROUP BY ALL ORDER BY ALL"
)
RAW_REACH = " UNION ALL ".join(
    f"SELECT received_at::DATE, '{dimension}', {dimension}::VARCHAR, "
    "count(DISTINCT installation_id) FROM events GROUP BY ALL"
    for dimension in rollups.REACH_DIMENSIONS
)


def test_reach_bitmaps_fold_as_they_rebuild(known: Store) -> None:
    """The per-day bitmaps per command, version, platform and interactivity, folded one commit
    at a time, count each day's distinct installations per value, as a rebuild does."""
    queries.overview(known, WHOLE)  # a question folds what is pending
    folded = known.query(REACH_COUNTS)
    assert folded == known.query(f"{RAW_REACH} ORDER BY ALL")
    assert {dimension for _, dimension, _, _ in folded} == set(rollups.REACH_DIMENSIONS)
    known.execute(rollups.rebuild_sql())
    assert known.query(REACH_COUNTS) == folded
