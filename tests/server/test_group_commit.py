"""Group commit, through both write paths: the store process's stream (what `candor serve`
uses) and the same loop in a thread over a store of this process. Concurrent requests share
commits; stop() commits what was queued; a failing store answers 503 and nothing hangs."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import uuid
from typing import TYPE_CHECKING

import pytest

from candor.server.http.errors import Unavailable
from candor.server.runtime.metrics import Metrics
from candor.server.store.collector_end import StoreProcess
from candor.server.store.local import LocalCommitter
from candor.storage.base import Submission
from candor.storage.duckdb import DuckDBStore
from candor.storage.questions import NO_FILTERS, TimeRange

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from candor.server.store.committer import Committer
    from candor.storage.base import Store

    MakeCommitter = Callable[[float], tuple[Committer, Store]]

REQUESTS = 200


def row() -> tuple[object, ...]:
    return ("1.0", str(uuid.uuid4()), "0.2.1", "build", "linux-x86_64", 5, "success", None, True)


def submission(key: str | None = None) -> Submission:
    return Submission([row()], None, b'{"accepted":1}', key)


@pytest.fixture(params=["store-process", "local-thread"])
def make_committer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeCommitter]:
    """make(window_s) → (committer, store) over a fresh DuckDB file, closed after the test."""
    opened: list[Store] = []

    def make(window_s: float) -> tuple[Committer, Store]:
        url = str(tmp_path / f"events-{len(opened)}.duckdb")
        if request.param == "store-process":
            process = StoreProcess(url, window_s=window_s)
            opened.append(process)
            return process.committer, process
        store = DuckDBStore(url)
        opened.append(store)
        return LocalCommitter(store, window_s=window_s), store

    yield make
    for store in opened:
        store.close()


def test_concurrent_submissions_share_commits(make_committer: MakeCommitter) -> None:
    """200 concurrent requests are stored by far fewer than 200 transactions, all durable."""
    metrics = Metrics()
    committer, store = make_committer(0.002)

    async def scenario() -> None:
        await committer.start(metrics)
        outcomes = await asyncio.gather(*(committer.submit(submission()) for _ in range(REQUESTS)))
        await committer.stop()
        assert not any(outcome.replayed for outcome in outcomes)

    asyncio.run(scenario())
    assert store.count_events() == REQUESTS
    assert metrics.commit_requests.sum == REQUESTS
    assert metrics.commit_requests.total < REQUESTS / 4  # commits


def test_stop_commits_what_was_queued_then_refuses(make_committer: MakeCommitter) -> None:
    """Submissions queued before stop() are committed; after it, submit() is a 503."""
    committer, store = make_committer(0.05)

    async def scenario() -> None:
        await committer.start(Metrics())
        pending = [asyncio.ensure_future(committer.submit(submission())) for _ in range(10)]
        await asyncio.sleep(0)  # let them queue (a yield, not a wait for time)
        await committer.stop()
        await committer.stop()  # twice is harmless
        assert all(not task.replayed for task in await asyncio.gather(*pending))
        with pytest.raises(Unavailable):
            await committer.submit(submission())

    asyncio.run(scenario())
    assert store.count_events() == 10


def test_one_key_twice_in_one_group_is_stored_once(make_committer: MakeCommitter) -> None:
    """Two concurrent requests with the same key: one stores, the other is its replay."""
    committer, store = make_committer(0.01)

    async def scenario() -> list[bool]:
        await committer.start(Metrics())
        outcomes = await asyncio.gather(
            committer.submit(submission("same")), committer.submit(submission("same"))
        )
        await committer.stop()
        return [outcome.replayed for outcome in outcomes]

    assert asyncio.run(scenario()) == [False, True]
    assert store.count_events() == 1


def test_a_failing_store_fails_the_waiting_requests_with_503(tmp_path: Path) -> None:
    """When the commit fails, every request of the group gets a 503 with Retry-After."""
    store = DuckDBStore(str(tmp_path / "events.duckdb"))
    store.close()
    metrics = Metrics()

    async def scenario() -> None:
        committer = LocalCommitter(store, window_s=0)
        await committer.start(metrics)
        results = await asyncio.gather(
            committer.submit(submission()), committer.submit(submission()), return_exceptions=True
        )
        await committer.stop()
        assert all(isinstance(result, Unavailable) for result in results)
        assert all(result.headers["Retry-After"] for result in results)  # type: ignore[union-attr]

    asyncio.run(scenario())
    assert metrics.commit_failures >= 1


def test_a_killed_store_process_is_replaced_and_commits_go_on(tmp_path: Path) -> None:
    """The store process dies: waiting requests get a 503, a new process takes over on its
    own, and every request answered 2xx, before or after, is in the store."""
    store = StoreProcess(str(tmp_path / "events.duckdb"))
    committer = store.committer
    first_pid = store.pid

    async def scenario() -> tuple[int, int]:
        await committer.start(Metrics())
        await committer.submit(submission("before"))
        os.kill(first_pid, signal.SIGKILL)
        refused = 0
        while True:  # each attempt waits for its answer: no sleep decides anything here
            try:
                await committer.submit(submission())
            except Unavailable:
                refused += 1
                await asyncio.sleep(0.05)  # a client's pause before it retries
                continue
            break
        replay = await committer.submit(submission("before"))
        await committer.stop()
        return refused, int(replay.replayed)

    try:
        refused, replayed = asyncio.run(scenario())
        assert store.pid != first_pid
        assert replayed == 1  # the key committed before the kill survived it
        assert store.count_events() == 2
    finally:
        store.close()
    assert refused >= 1  # the request in flight when it died (submitted before the death shows)


class CountingStore(DuckDBStore):
    """The real DuckDB store, counting the write loop's calls to tidy."""

    tidied = 0

    def tidy(self) -> None:
        self.tidied += 1
        super().tidy()


def test_the_loop_lets_the_store_tidy_after_each_commit_and_stops_cleanly(tmp_path: Path) -> None:
    """Between commits the loop calls Store.tidy; stop() ends the writer thread."""
    store = CountingStore(str(tmp_path / "events.duckdb"))

    async def scenario() -> int:
        committer = LocalCommitter(store, window_s=0)
        await committer.start(Metrics())
        for _ in range(3):
            await committer.submit(submission())
        await committer.stop()
        await committer.stop()  # twice is harmless
        return sum(thread.name == "candor-writer" for thread in threading.enumerate())

    try:
        assert asyncio.run(scenario()) == 0
        assert store.tidied == 3
        assert store.usage_totals(TimeRange.last(1), NO_FILTERS).events == 3
    finally:
        store.close()


def test_a_broken_engine_answers_503_and_never_hangs(tmp_path: Path) -> None:
    """When the store must be reopened (StoreBroken), the group and every later request get a
    503 at once; in `candor serve` the store process then exits and a new one takes over."""
    store = DuckDBStore(str(tmp_path / "events.duckdb"))
    store._con.close()  # the engine gone, as after DuckDB invalidated its database

    async def scenario() -> list[object]:
        committer = LocalCommitter(store, window_s=0)
        await committer.start(Metrics())
        first = await asyncio.gather(committer.submit(submission()), return_exceptions=True)
        later = await asyncio.gather(committer.submit(submission()), return_exceptions=True)
        await committer.stop()
        return [*first, *later]

    try:
        results = asyncio.run(scenario())
        assert all(isinstance(result, Unavailable) for result in results)
    finally:
        store.close()
