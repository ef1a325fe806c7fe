"""The DuckDB store's idempotency keys: many of them fit a small memory limit, retries are found
whatever the filter's state, and a store made with the old primary key is upgraded."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import duckdb

from candor.schema import FIELD_NAMES
from candor.storage.base import Submission, utc_now
from candor.storage.duckdb import DuckDBStore
from candor.storage.duckdb.key_filter import MIN_CAPACITY, key_hash
from tests.support.load import make_event

if TYPE_CHECKING:
    from pathlib import Path

ROW = tuple(make_event()[name] for name in FIELD_NAMES)


def keyed(keys: list[str]) -> list[Submission]:
    return [Submission([ROW], None, f"answer {key}".encode(), key) for key in keys]


def test_many_keys_fit_a_small_memory_limit(tmp_path: Path) -> None:
    """200,000 keys within the window: DuckDB's in-memory index of them alone needed ~18 MB,
    more than this store may use, and every commit failed. The filter grows past its first
    capacity twice on the way, and every key still replays."""
    store = DuckDBStore(str(tmp_path / "events.duckdb"), memory_limit="16MB")
    try:
        generator = random.Random(3)  # keys like the sender's: random UUIDs
        keys = [str(uuid.UUID(int=generator.getrandbits(128), version=4)) for _ in range(200_000)]
        for start in range(0, len(keys), 500):
            store.commit(keyed(keys[start : start + 500]))
        assert store._key_filter is not None and store._key_filter.capacity == 4 * MIN_CAPACITY
        sample = keys[::19_999]
        outcomes = store.commit(keyed(sample))
        assert all(outcome.replayed for outcome in outcomes)
        assert [outcome.answer for outcome in outcomes] == [
            f"answer {key}".encode() for key in sample
        ]
        assert store.query("SELECT count(*) FROM events") == [(200_000,)]
    finally:
        store.close()


def test_keys_added_by_a_statement_are_found(tmp_path: Path) -> None:
    """A key written by `execute` (an import, a repair) replays although the filter never saw it."""
    store = DuckDBStore(str(tmp_path / "events.duckdb"))
    try:
        store.commit(keyed(["first"]))  # builds the filter
        store.execute(
            "INSERT INTO idempotency_keys VALUES ('imported', $1, 'as before', $2)",
            [key_hash("imported"), utc_now()],
        )
        [outcome] = store.commit(keyed(["imported"]))
        assert (outcome.replayed, outcome.answer) == (True, b"as before")
    finally:
        store.close()


def test_a_key_reused_after_the_window_gets_a_second_row(tmp_path: Path) -> None:
    """Expired keys stay until expire_keys; the fresh use is the one remembered meanwhile."""
    store = DuckDBStore(str(tmp_path / "events.duckdb"))
    try:
        old = utc_now() - timedelta(days=2)
        store.commit(keyed(["again"]), now=old)
        [fresh] = store.commit([Submission([ROW], None, b"second", "again")])
        [replay] = store.commit([Submission([ROW], None, b"third", "again")])
        assert not fresh.replayed
        assert (replay.replayed, replay.answer) == (True, b"second")
        assert store.query("SELECT count(*) FROM idempotency_keys") == [(2,)]
        assert store.expire_keys(utc_now() - timedelta(days=1)) == 1
        assert store.lookup_answer("again") == b"second"
    finally:
        store.close()


def test_a_store_with_the_old_primary_key_is_upgraded(tmp_path: Path) -> None:
    """Its keys move to a table without the index and still replay."""
    path = str(tmp_path / "events.duckdb")
    with duckdb.connect(path) as con:
        con.execute(
            "CREATE TABLE idempotency_keys "
            "(key VARCHAR PRIMARY KEY, answer BLOB NOT NULL, created_at TIMESTAMP NOT NULL)"
        )
        con.execute("INSERT INTO idempotency_keys VALUES ('kept', 'old answer', $1)", [utc_now()])
    store = DuckDBStore(path)
    try:
        constraints = store.query(
            "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'idempotency_keys'"
        )
        assert ("PRIMARY KEY",) not in constraints
        [outcome] = store.commit(keyed(["kept"]))
        assert (outcome.replayed, outcome.answer) == (True, b"old answer")
    finally:
        store.close()


def test_the_filter_can_be_built_before_the_first_commit(tmp_path: Path) -> None:
    """The collector builds it at start-up, from the keys a previous run left."""
    path = str(tmp_path / "events.duckdb")
    first = DuckDBStore(path)
    first.commit(keyed(["left-by-a-previous-run"]))
    first.close()
    store = DuckDBStore(path)
    try:
        assert store._key_filter is None
        store.prepare_for_commits()
        assert store._key_filter is not None
        assert store._key_filter.count == 1
        assert store._key_filter.may_hold(key_hash("left-by-a-previous-run"))
    finally:
        store.close()


class CountingStore(DuckDBStore):
    """The real store, counting the statements that read the keys table."""

    key_reads = 0

    def _run(self, sql: str, params: object = ()) -> list[tuple[object, ...]]:
        if "FROM idempotency_keys" in sql:
            self.key_reads += 1
        return super()._run(sql, params)  # type: ignore[arg-type]


def test_replayed_keys_are_looked_up_in_one_pass_per_commit(tmp_path: Path) -> None:
    """Issue #9: with 136 k keys stored, replaying known keys made the single writer scan the
    table once per key. A commit of 300 retries now reads the keys table once."""
    store = CountingStore(str(tmp_path / "events.duckdb"))
    try:
        keys = [uuid.uuid4().hex for _ in range(3_000)]
        for start in range(0, len(keys), 500):
            store.commit(keyed(keys[start : start + 500]))
        store.key_reads = 0
        outcomes = store.commit(keyed(keys[::10]))
        assert [o.answer for o in outcomes] == [f"answer {k}".encode() for k in keys[::10]]
        assert all(o.replayed for o in outcomes)
        assert store.key_reads == 1
        store.key_reads = 0
        fresh = store.commit(keyed([uuid.uuid4().hex for _ in range(300)]))
        assert not any(o.replayed for o in fresh)
        assert store.key_reads <= 1  # none, unless the filter says "maybe" to one of them
    finally:
        store.close()
