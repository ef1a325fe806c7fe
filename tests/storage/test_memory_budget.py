"""The DuckDB store's memory limit: whole for queries, halved while it only commits."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from candor.storage.base import StoreError
from candor.storage.duckdb import DuckDBStore
from candor.storage.memory_budget import size_in_bytes

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
