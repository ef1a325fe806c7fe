"""Rollups folded behind a watermark: exact before every read, after a crash, for late rows."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import duckdb
import pytest

from candor.schema import FIELD_NAMES
from candor.storage import StoreError, open_store
from candor.storage.base import Submission, utc_now
from candor.storage.duckdb import DuckDBStore, rollups
from candor.storage.questions import NO_FILTERS, TimeRange

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Store = DuckDBStore  # these tests look inside DuckDB's own tables


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    """A DuckDB store in this process, where its tables can be read."""
    opened = DuckDBStore(str(tmp_path / "events.duckdb"))
    try:
        yield opened
    finally:
        opened.close()


ANSWER = b'{"accepted":1}'
# Sums per rollup key, whatever the number of rows a key has: what every answer is built from.
# Installations by id: a rebuild numbers them by first sight, a fold in the order it meets them.
USAGE = (
    "SELECT day, installation_id, command, cli_version, os_arch, is_interactive, is_new, "
    "sum(events), sum(failures) FROM rollup_daily_usage JOIN rollup_installations USING (iid) "
    "GROUP BY ALL ORDER BY ALL"
)
ERRORS = (
    "SELECT day, installation_id, command, error_code, sum(events) FROM rollup_daily_errors "
    "JOIN rollup_installations USING (iid) GROUP BY ALL ORDER BY ALL"
)


def row(failed: bool = False) -> tuple[object, ...]:
    return (
        "1.0", str(uuid.uuid4()), "0.2.1", "build", "linux-x86_64", 5,
        "failure" if failed else "success", "boom" if failed else None, True,
    )  # fmt: skip


def submissions(count: int, *, at: datetime | None = None) -> list[Submission]:
    return [
        Submission([row(failed=n % 3 == 0)], at, ANSWER, uuid.uuid4().hex) for n in range(count)
    ]


def folded_through(path: Path) -> datetime | None:
    """The watermark, read straight from a closed store's file."""
    with duckdb.connect(str(path), read_only=True) as con:
        found: datetime | None = con.execute("SELECT folded_through FROM rollup_state").fetchall()[
            0
        ][0]
        return found


def sums(store: Store) -> tuple[object, ...]:
    return store.query(USAGE), store.query(ERRORS)


def test_a_question_counts_every_committed_event(store: Store) -> None:
    """Commits leave the rollups behind; the next question folds first, once."""
    for _ in range(3):
        store.commit(submissions(40))
    today = TimeRange.last(1)
    totals = store.usage_totals(today, NO_FILTERS)
    assert (totals.events, totals.failures) == (120, 42)
    store.commit(submissions(5))
    assert store.usage_totals(today, NO_FILTERS).events == 125
    assert store.fold_rollups(force=True) == 0  # nothing left to fold, nothing folded twice
    assert store.query("SELECT sum(events) FROM rollup_daily_usage") == [(125,)]


def test_fold_moves_the_watermark_to_the_newest_event(store: Store) -> None:
    """After a fold the watermark is the newest received_at; events after it are the pending."""
    store.commit(submissions(10))
    assert store.fold_rollups(force=True) == 10
    ((newest, watermark),) = store.query(
        "SELECT (SELECT max(received_at) FROM events), max(folded_through) FROM rollup_state"
    )
    assert watermark == newest


def test_commit_times_strictly_increase_even_if_the_clock_goes_back(store: Store) -> None:
    """Without a received_at of their own, commits get ever later times: the watermark is exact."""
    now = utc_now()
    store.commit(submissions(2), now=now)
    store.commit(submissions(2), now=now)  # the same instant
    store.commit(submissions(2), now=now - timedelta(seconds=5))  # the clock went back
    stamps = [at for (at,) in store.query("SELECT DISTINCT received_at FROM events ORDER BY 1")]
    assert len(stamps) == 3
    assert stamps[0] == now and stamps[0] < stamps[1] < stamps[2]


def test_late_rows_are_folded_by_their_own_commit(store: Store) -> None:
    """Rows received before the watermark (an import) are counted at once, exactly once."""
    store.commit(submissions(20))
    store.fold_rollups(force=True)
    old = utc_now() - timedelta(days=3)
    store.commit(submissions(4, at=old))
    event = dict(zip(FIELD_NAMES, row(failed=True), strict=True))
    store.insert_events([event, event], old - timedelta(days=1))
    incremental = sums(store)
    store.execute(rollups.rebuild_sql())
    assert sums(store) == incremental
    assert store.query("SELECT sum(events) FROM rollup_daily_usage") == [(26,)]


def test_an_explicit_statement_rereads_the_watermark(store: Store) -> None:
    """Events loaded with SQL and a rebuild, then commits: each event counted once."""
    store.execute(
        "INSERT INTO events SELECT '1.0', uuid(), '0.1.0', 'build', 'linux-x86_64', 1, "
        "'success', NULL, false, TIMESTAMP '2026-01-01 00:00:00' + INTERVAL (range) MINUTE "
        "FROM range(50)"
    )
    store.execute(rollups.rebuild_sql())
    store.commit(submissions(7))
    store.fold_rollups(force=True)
    assert store.query("SELECT sum(events) FROM rollup_daily_usage") == [(57,)]


def test_prune_folds_pending_events_before_deleting(store: Store) -> None:
    """A prune counts pending events into the surviving rollup days before deleting raw ones."""
    store.commit(submissions(6))
    assert store.prune(utc_now() - timedelta(days=1)) == 0
    assert store.fold_rollups(force=True) == 0  # the prune folded them
    assert store.query("SELECT sum(events) FROM rollup_daily_usage") == [(6,)]


def test_close_folds_and_reopening_keeps_the_counts(tmp_path: Path) -> None:
    """close() folds what is pending, so the file's rollups and watermark are up to date."""
    path = tmp_path / "events.duckdb"
    store = open_store(str(path))
    store.commit(submissions(9))
    store.close()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT sum(events) FROM rollup_daily_usage").fetchall() == [(9,)]
        newest = con.execute("SELECT max(received_at) FROM events").fetchall()[0][0]
    assert folded_through(path) == newest


def test_events_a_crash_left_unfolded_are_folded_at_open(tmp_path: Path) -> None:
    """A process that dies after its commits (no close) loses nothing: the next open folds."""
    path = tmp_path / "events.duckdb"
    script = (
        "import os, sys, uuid\n"
        "from candor.storage import open_store\n"
        "from candor.storage.base import Submission\n"
        "store = open_store(sys.argv[1])\n"
        "row = ('1.0', str(uuid.uuid4()), '0.2.1', 'build', 'linux-x86_64', 5, 'success', None,"
        " True)\n"
        "for n in range(3):\n"
        "    store.commit([Submission([row] * 4, None, b'a', f'key-{n}')])\n"
        "os._exit(0)  # no close(): as if killed right after acknowledging\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert folded_through(path) is None  # nothing was folded before the crash
    store = open_store(str(path))
    try:
        assert store.fold_rollups(force=True) == 0  # the open folded all twelve
        assert store.query("SELECT sum(events) FROM rollup_daily_usage") == [(12,)]
    finally:
        store.close()


def test_a_memory_limit_is_applied_and_a_bad_one_refused(tmp_path: Path) -> None:
    """open_store(memory_limit=...) caps DuckDB's memory; a value it rejects is a StoreError."""
    store = open_store(str(tmp_path / "a.duckdb"), memory_limit="64MB")
    try:
        assert store.query("SELECT current_setting('memory_limit')") == [("61.0 MiB",)]
    finally:
        store.close()
    with pytest.raises(StoreError, match="memory limit 'lots'"):
        open_store(str(tmp_path / "b.duckdb"), memory_limit="lots")


def test_installations_numbered_after_a_question_are_counted_by_the_next(store: Store) -> None:
    """The highest installation number is kept between questions; a fold of new installations,
    an import of old rows or a rebuild makes the next question read it again."""
    recent = TimeRange.last(2)  # two days: the import an hour back may fall on yesterday
    store.commit(submissions(3))
    assert store.command_counts(recent, NO_FILTERS).total.installations == 3
    store.commit(submissions(4))  # four new installations, numbered by the question's fold
    assert store.command_counts(recent, NO_FILTERS).total.installations == 7
    event = dict(zip(FIELD_NAMES, row(), strict=True))
    store.insert_events([event], utc_now() - timedelta(hours=1))  # before the watermark
    assert store.command_counts(recent, NO_FILTERS).total.installations == 8
    store.execute(rollups.rebuild_sql())
    assert store.command_counts(recent, NO_FILTERS).total.installations == 8
