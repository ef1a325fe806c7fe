"""What the DuckDB store keeps in its file, and its own read-only `query` for tools and tests."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest

from candor.storage.base import StoreError
from candor.storage.duckdb import DuckDBStore

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def duckdb_store(tmp_path: Path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(str(tmp_path / "events.duckdb"))
    try:
        yield opened
    finally:
        opened.close()


def test_the_events_table_is_the_nine_fields_then_received_at(duckdb_store: DuckDBStore) -> None:
    """Columns, order and types: what `candor export` writes and a reader of the file expects."""
    columns = duckdb_store.query(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'events' ORDER BY ordinal_position"
    )
    assert columns == [
        ("event_version", "VARCHAR", "NO"),
        ("installation_id", "UUID", "NO"),
        ("cli_version", "VARCHAR", "NO"),
        ("command", "VARCHAR", "NO"),
        ("os_arch", "VARCHAR", "NO"),
        ("duration_ms", "BIGINT", "NO"),
        ("status", "VARCHAR", "NO"),
        ("error_code", "VARCHAR", "YES"),
        ("is_interactive", "BOOLEAN", "NO"),
        ("received_at", "TIMESTAMP", "NO"),
    ]


def test_query_is_read_only(duckdb_store: DuckDBStore) -> None:
    """query() refuses anything but one SELECT/EXPLAIN."""
    for sql in ("DELETE FROM events", "DROP TABLE events", "SELECT 1; SELECT 2", "CHECKPOINT"):
        with pytest.raises(StoreError):
            duckdb_store.query(sql)
    assert duckdb_store.query("SELECT $1 + 1", [41]) == [(42,)]


def test_a_store_made_world_readable_is_made_private_when_opened(tmp_path: Path) -> None:
    """Issue #9: a file created 0644 (by an older candor or another umask) becomes 0600."""
    path = tmp_path / "events.duckdb"
    DuckDBStore(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # created private
    path.chmod(0o644)
    DuckDBStore(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
