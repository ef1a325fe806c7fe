"""What the DuckDB store keeps in its file, and its own read-only `query` for tools and tests."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import duckdb
import pytest

from candor.schema import FIELD_NAMES
from candor.storage.base import StoreBroken, StoreError, Submission, utc_now
from candor.storage.duckdb import DuckDBStore
from candor.storage.questions import NO_FILTERS, TimeRange
from tests.support.load import make_event

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

EVENT = make_event()
ROW = tuple(EVENT[name] for name in FIELD_NAMES)


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


def test_an_engine_failure_is_a_store_error_from_every_method(duckdb_store: DuckDBStore) -> None:
    """Issue #9: a raw DuckDB error escaped the store's error type (and then ended the store
    process). With the engine gone under it, every method fails with StoreBroken (a
    StoreError: 503, and the collector starts a new store process)."""
    duckdb_store.commit([Submission([ROW], None, b"a", "k")])
    duckdb_store._con.close()  # the engine gone, as after DuckDB invalidated its database
    calls = {
        "commit": lambda: duckdb_store.commit([Submission([ROW], None, b"b", "k2")]),
        "lookup_answer": lambda: duckdb_store.lookup_answer("k"),
        "insert_events": lambda: duckdb_store.insert_events([EVENT], utc_now()),
        "prune": lambda: duckdb_store.prune(utc_now()),
        "expire_keys": lambda: duckdb_store.expire_keys(utc_now()),
        "count_events": duckdb_store.count_events,
        "usage_totals": lambda: duckdb_store.usage_totals(TimeRange.last(1), NO_FILTERS),
        "ping": duckdb_store.ping,
    }
    for name, call in calls.items():
        with pytest.raises(StoreBroken):
            call()
        assert name
    duckdb_store.close()  # and closing it is still harmless


def test_a_transaction_left_aborted_does_not_fail_every_later_commit(
    duckdb_store: DuckDBStore,
) -> None:
    """Issue #9: "Current transaction is aborted" on every POST until a manual restart. A
    failed statement left in an open transaction is rolled back by the next commit."""
    con = duckdb_store._con
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO events (event_version) VALUES (NULL)")
    [outcome] = duckdb_store.commit([Submission([ROW], None, b"stored", "after")])
    assert not outcome.replayed
    assert duckdb_store.count_events() == 1
    assert duckdb_store.lookup_answer("after") == b"stored"
