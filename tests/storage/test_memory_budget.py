"""The DuckDB store's memory limit: whole for queries, halved while it only commits."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from candor.schema import FIELD_NAMES
from candor.storage.base import StoreError, Submission
from candor.storage.duckdb import DuckDBStore
from candor.storage.duckdb.memory_budget import size_in_bytes
from tests.support.load import make_event

if TYPE_CHECKING:
    from pathlib import Path

LIMIT = "SELECT current_setting('memory_limit')"


@pytest.mark.parametrize(
    ("size", "expected"),
    [("96MB", 96_000_000), ("1GiB", 1 << 30), ("1.5 gb", 1_500_000_000), ("512B", 512)],
)
def test_sizes_in_duckdb_units(size: str, expected: int) -> None:
    assert size_in_bytes(size) == expected


def test_a_size_that_is_not_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="memory limit '96 apples'"):
        DuckDBStore(str(tmp_path / "events.duckdb"), memory_limit="96 apples")


def test_queries_get_the_whole_limit_and_commits_half(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "events.duckdb"), memory_limit="96MB")
    try:
        idle = store._read(LIMIT, ())  # outside any query's budget
        assert store.query(LIMIT) == [("91.5 MiB",)]  # 96,000,000 bytes
        assert idle == store._read(LIMIT, ()) == [("45.7 MiB",)]
    finally:
        store.close()


def test_overlapping_queries_keep_the_whole_limit_until_the_last_ends(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "events.duckdb"), memory_limit="96MB")
    inside, release = threading.Event(), threading.Event()

    def long_query() -> None:
        with store._memory.whole():
            inside.set()
            release.wait(10)

    other = threading.Thread(target=long_query)
    other.start()
    try:
        assert inside.wait(10)
        assert store.query(LIMIT) == [("91.5 MiB",)]
        assert store._read(LIMIT, ()) == [("91.5 MiB",)]  # the other query still runs
        release.set()
        other.join(10)
        assert store._read(LIMIT, ()) == [("45.7 MiB",)]
    finally:
        release.set()
        other.join(10)
        store.close()


def test_without_a_limit_duckdb_keeps_its_default(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "events.duckdb"))
    try:
        assert store.query(LIMIT) == store._read(LIMIT, ())
    finally:
        store.close()


def test_a_commit_too_big_for_half_the_limit_gets_the_whole(tmp_path: Path) -> None:
    """50,000 events in one group need more than 4 MB of DuckDB's memory but fit in 8 MB:
    the commit is redone with the whole budget instead of failing."""
    store = DuckDBStore(str(tmp_path / "events.duckdb"), memory_limit="8MB")
    rows = [tuple(make_event()[name] for name in FIELD_NAMES) for _ in range(50_000)]
    try:
        [outcome] = store.commit([Submission(rows, None, b"all in", "big")])
        assert not outcome.replayed
        assert store.query("SELECT count(*) FROM events") == [(50_000,)]
        assert store.lookup_answer("big") == b"all in"
        assert store._read(LIMIT, ()) == [("3.8 MiB",)]  # and back to half after
    finally:
        store.close()
