"""The Store contract, for every backend: commit, idempotency, reads, writes, retention."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from candor.schema import FIELD_NAMES
from candor.storage import open_store
from candor.storage.base import IDEMPOTENCY_WINDOW, StoreError, Submission, utc_now
from candor.storage.questions import NO_FILTERS, TimeRange
from tests.support.load import make_event

if TYPE_CHECKING:
    from candor.storage.base import Store


def row(**changes: object) -> tuple[object, ...]:
    """A valid event (changed by `changes`) as the store's row: values in FIELD_NAMES order."""
    values = make_event(**changes)
    return tuple(values[name] for name in FIELD_NAMES)


def count(store: Store) -> int:
    return store.count_events()


def test_commit_stores_every_submission_in_one_go(store: Store) -> None:
    """Rows of all submissions land with their received_at; each gets its own answer."""
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    outcomes = store.commit(
        [
            Submission([row(), row()], at, b"a", "k1"),
            Submission([row(status="failure", error_code="boom")], at, b"b"),
            Submission([], at, b"c", "k-empty"),
        ]
    )
    assert [o.answer for o in outcomes] == [b"a", b"b", b"c"]
    assert not any(o.replayed for o in outcomes)
    assert count(store) == 3
    at_noon = datetime(2026, 3, 1, 12)
    assert store.count_events(at_noon, at_noon + timedelta(microseconds=1)) == 3


def test_a_seen_key_replays_and_stores_nothing(store: Store) -> None:
    """Within the window a key's first answer comes back and no row is added; also in one batch."""
    first = store.commit([Submission([row()], utc_now(), b"first", "k")])
    again = store.commit(
        [Submission([row()], utc_now(), b"second", "k"), Submission([row()], utc_now(), b"x", "n")]
    )
    assert not first[0].replayed
    assert (again[0].answer, again[0].replayed) == (b"first", True)
    assert not again[1].replayed
    twice = store.commit(
        [Submission([row()], utc_now(), b"p", "dup"), Submission([row()], utc_now(), b"q", "dup")]
    )
    assert [(o.answer, o.replayed) for o in twice] == [(b"p", False), (b"p", True)]
    assert count(store) == 3
    assert store.lookup_answer("k") == b"first"
    assert store.lookup_answer("unknown") is None


def test_a_key_older_than_the_window_is_new_again(store: Store) -> None:
    """After IDEMPOTENCY_WINDOW the key no longer replays, and is remembered afresh."""
    start = utc_now()
    store.commit([Submission([row()], start, b"old", "k")], now=start)
    later = start + IDEMPOTENCY_WINDOW + timedelta(seconds=1)
    assert store.lookup_answer("k", now=later) is None
    (outcome,) = store.commit([Submission([row()], later, b"new", "k")], now=later)
    assert (outcome.answer, outcome.replayed) == (b"new", False)
    assert store.lookup_answer("k", now=later) == b"new"
    assert count(store) == 2


def test_keys_survive_a_reopen(store_url: str) -> None:
    """Idempotency answers are in the store, not in memory: a restart still replays."""
    first = open_store(store_url)
    first.commit([Submission([row()], utc_now(), b"kept", "k")])
    first.close()
    second = open_store(store_url)
    try:
        (outcome,) = second.commit([Submission([row()], utc_now(), b"other", "k")])
        assert (outcome.answer, outcome.replayed) == (b"kept", True)
        assert count(second) == 1
    finally:
        second.close()


def test_a_failing_commit_stores_nothing(store: Store) -> None:
    """One bad row fails the whole group: no events, no keys, and the store still works."""
    with pytest.raises((StoreError, ValueError)):
        store.commit(
            [
                Submission([row()], utc_now(), b"a", "good-key"),
                Submission([row(installation_id="not-a-uuid")], utc_now(), b"b"),
            ]
        )
    assert count(store) == 0
    assert store.lookup_answer("good-key") is None
    store.commit([Submission([row()], utc_now(), b"a", "good-key")])
    assert count(store) == 1


def test_rollups_see_exactly_the_committed_rows(store: Store) -> None:
    """Each commit folds its rows into the rollups in the same transaction (counts agree)."""
    for size in (1, 3, 50):
        store.commit([Submission([row() for _ in range(size)], utc_now(), b"a")])
    store.insert_events([dict(zip(FIELD_NAMES, row(), strict=True)) for _ in range(4)], utc_now())
    assert count(store) == 58
    assert store.usage_totals(TimeRange.last(1), NO_FILTERS).events == 58


def test_query_from_many_threads_while_committing(store: Store) -> None:
    """Readers on other threads get consistent counts while the writer commits."""
    errors: list[BaseException] = []
    seen: list[int] = []

    def read() -> None:
        try:
            for _ in range(20):
                seen.append(count(store))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for _ in range(20):
        store.commit([Submission([row(), row()], utc_now(), b"a")])
    for reader in readers:
        reader.join()
    assert not errors
    assert all(value % 2 == 0 for value in seen)  # never half a commit
    assert count(store) == 40


def test_insert_events_prune_count_and_expire(store: Store) -> None:
    """The write helpers: insert_events, prune and expire_keys return what they did."""
    old = utc_now() - timedelta(days=500)
    assert store.insert_events([dict(zip(FIELD_NAMES, row(), strict=True))], old) == 1
    store.commit([Submission([row()], utc_now(), b"a", "recent")])
    cutoff = utc_now() - timedelta(days=400)
    assert store.count_events(end=cutoff) == 1
    assert store.count_events(start=cutoff) == 1
    assert store.prune(cutoff) == 1
    assert count(store) == 1
    assert store.count_events(end=cutoff) == 0
    assert store.expire_keys(utc_now() - timedelta(hours=1)) == 0
    assert store.lookup_answer("recent") == b"a"
    assert store.expire_keys(utc_now() + timedelta(seconds=1)) == 1
    assert store.lookup_answer("recent") is None


def test_ping_and_close(store: Store) -> None:
    """ping() passes on an open store; after close() (twice is fine) it is a StoreError."""
    store.ping()
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.ping()
    with pytest.raises(StoreError):
        store.commit([Submission([row()], utc_now(), b"a")])
