"""The idempotency-key filter: no key it was given is ever ruled out, DuckDB builds the very
bits Python would, and a fresh key is rarely taken for a held one."""

from __future__ import annotations

import random
from datetime import datetime

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from candor.storage.base import IDEMPOTENCY_KEY_PATTERN
from candor.storage.duckdb import key_filter
from candor.storage.duckdb.key_filter import MIN_CAPACITY, SLICE_KEYS, KeyFilter

KEYS = st.lists(st.from_regex(f"{IDEMPOTENCY_KEY_PATTERN}", fullmatch=True), max_size=40)
SINCE = datetime(2026, 1, 1)


def built_by_duckdb(keys: list[str], capacity: int, *, old: tuple[str, ...] = ()) -> KeyFilter:
    """The filter DuckDB builds from a table of `keys` (and of `old` ones, before SINCE)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE k (key VARCHAR, key_hash UBIGINT, created_at TIMESTAMP)")
    for names, at in ((keys, datetime(2026, 1, 2)), (list(old), datetime(2025, 1, 1))):
        con.execute(
            f"INSERT INTO k SELECT key, {key_filter.HASH_SQL}, $2 "
            "FROM unnest($1::VARCHAR[]) AS names(key)",
            [names, at],
        )
    built = KeyFilter(capacity, len(keys))
    for number in range(built.slices):
        ((bits,),) = con.execute(built.slice_sql("k", number), [SINCE]).fetchall()
        built.set_slice(number, bits)
    return built


@settings(max_examples=40, deadline=None)
@given(keys=KEYS, capacity=st.sampled_from([MIN_CAPACITY, 4 * SLICE_KEYS]))
def test_duckdb_builds_what_python_adds(keys: list[str], capacity: int) -> None:
    """The same hash, slices and bit order on both sides: identical filters, no key ruled out
    (with one slice, and with four)."""
    by_python = KeyFilter(capacity)
    for key in keys:
        by_python.add(key_filter.key_hash(key))
    by_duckdb = built_by_duckdb(keys, capacity)
    assert by_duckdb._bits == by_python._bits
    assert all(by_duckdb.may_hold(key_filter.key_hash(key)) for key in keys)


def test_hash_is_the_same_in_sql() -> None:
    keys = ["a", "retry-7f3c", "x" * 255, "0.1:2_3-4"]
    con = duckdb.connect()
    in_sql = [
        con.execute(f"SELECT {key_filter.HASH_SQL} FROM (SELECT $1 AS key)", [key]).fetchone()
        for key in keys
    ]
    assert [row[0] for row in in_sql if row] == [key_filter.key_hash(key) for key in keys]


def test_keys_before_the_window_are_left_out() -> None:
    built = built_by_duckdb(["live"], MIN_CAPACITY, old=("expired",))
    assert built.may_hold(key_filter.key_hash("live"))
    assert not built.may_hold(key_filter.key_hash("expired"))


def test_an_empty_table_gives_an_empty_filter() -> None:
    built = built_by_duckdb([], 2 * SLICE_KEYS)
    assert built.count == 0
    assert not any(built._bits)


@pytest.mark.parametrize("capacity", [MIN_CAPACITY, 2 * SLICE_KEYS])
def test_a_full_filter_still_rarely_says_maybe(capacity: int) -> None:
    """At capacity, fresh keys are taken for held ones about once in 15,000 (allow 1 in 2,000)."""
    generator = random.Random(7)
    known = KeyFilter(capacity)
    for _ in range(capacity):
        known.add(generator.getrandbits(64))
    assert known.full
    fresh = [key_filter.key_hash(f"fresh-{number}") for number in range(100_000)]
    false_maybes = sum(known.may_hold(hashed) for hashed in fresh)
    assert false_maybes < len(fresh) / 2_000


@pytest.mark.parametrize(("keys", "capacity"), [(0, 65_536), (32_768, 65_536), (32_769, 131_072)])
def test_capacity_leaves_room_for_as_many_again(keys: int, capacity: int) -> None:
    assert key_filter.capacity_for(keys) == capacity


def test_bits_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(ValueError, match="bytes for a slice"):
        KeyFilter(MIN_CAPACITY).set_slice(0, b"\0" * 10)
    with pytest.raises(ValueError, match="a power of two"):
        KeyFilter(MIN_CAPACITY + 1)
