"""Group commit: concurrent requests share transactions; stop() commits what was queued."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import TYPE_CHECKING

import pytest

from candor.server.commit import GroupCommitter
from candor.server.errors import Unavailable
from candor.server.metrics import Metrics
from candor.storage.base import Submission, utc_now
from candor.storage.duckdb import DuckDBStore
from candor.storage.questions import NO_FILTERS, TimeRange

if TYPE_CHECKING:
    from pathlib import Path

    from candor.storage.base import Store

REQUESTS = 200


def row() -> tuple[object, ...]:
    return ("1.0", str(uuid.uuid4()), "0.2.1", "build", "linux-x86_64", 5, "success", None, True)


def submission(key: str | None = None) -> Submission:
    return Submission([row()], utc_now(), b'{"accepted":1}', key)


def test_concurrent_submissions_share_commits(store: Store) -> None:
    """200 concurrent requests are stored by far fewer than 200 transactions, all durable."""
    metrics = Metrics()

    async def scenario() -> None:
        committer = GroupCommitter(store, metrics, window_s=0.002)
        await committer.start()
        outcomes = await asyncio.gather(*(committer.submit(submission()) for _ in range(REQUESTS)))
        await committer.stop()
        assert not any(outcome.replayed for outcome in outcomes)

    asyncio.run(scenario())
    assert store.query("SELECT count(*) FROM events") == [(REQUESTS,)]
    assert metrics.commit_requests.sum == REQUESTS
    assert metrics.commit_requests.total < REQUESTS / 4  # commits


def test_stop_commits_what_was_queued_then_refuses(store: Store) -> None:
    """Submissions queued before stop() are committed; after it, submit() is a 503."""

    async def scenario() -> None:
        committer = GroupCommitter(store, Metrics(), window_s=0.05)
        await committer.start()
        pending = [asyncio.ensure_future(committer.submit(submission())) for _ in range(10)]
        await asyncio.sleep(0)  # let them queue (a yield, not a wait for time)
        await committer.stop()
        assert all(not task.replayed for task in await asyncio.gather(*pending))
        with pytest.raises(Unavailable):
            await committer.submit(submission())

    asyncio.run(scenario())
    assert store.query("SELECT count(*) FROM events") == [(10,)]


def test_one_key_twice_in_one_group_is_stored_once(store: Store) -> None:
    """Two concurrent requests with the same key: one stores, the other is its replay."""

    async def scenario() -> list[bool]:
        committer = GroupCommitter(store, Metrics(), window_s=0.01)
        await committer.start()
        outcomes = await asyncio.gather(
            committer.submit(submission("same")), committer.submit(submission("same"))
        )
        await committer.stop()
        return [outcome.replayed for outcome in outcomes]

    assert asyncio.run(scenario()) == [False, True]
    assert store.query("SELECT count(*) FROM events") == [(1,)]


def test_a_failing_store_fails_the_waiting_requests_with_503(store: Store) -> None:
    """When the commit fails, every request of the group gets Unavailable, and nothing hangs."""
    store.close()

    async def scenario() -> None:
        committer = GroupCommitter(store, Metrics(), window_s=0)
        await committer.start()
        results = await asyncio.gather(
            committer.submit(submission()), committer.submit(submission()), return_exceptions=True
        )
        await committer.stop()
        assert all(isinstance(result, Unavailable) for result in results)

    asyncio.run(scenario())


class CountingStore(DuckDBStore):
    """The real DuckDB store, counting the committer's calls to fold_rollups."""

    folds = 0

    def fold_rollups(self, *, force: bool = False) -> int:
        self.folds += 1
        return super().fold_rollups(force=force)


def test_the_writer_offers_a_fold_after_each_commit_and_stops_cleanly(tmp_path: Path) -> None:
    """Between commits the writer thread lets the store fold; stop() ends that thread."""
    store = CountingStore(str(tmp_path / "events.duckdb"))
    store.folds = 0  # the one at open does not count

    async def scenario() -> int:
        committer = GroupCommitter(store, Metrics(), window_s=0)
        await committer.start()
        for _ in range(3):
            await committer.submit(submission())
        await committer.stop()
        await committer.stop()  # twice is harmless
        return sum(thread.name == "candor-writer" for thread in threading.enumerate())

    try:
        assert asyncio.run(scenario()) == 0
        assert store.folds == 3
        assert store.usage_totals(TimeRange.last(1), NO_FILTERS).events == 3
    finally:
        store.close()
