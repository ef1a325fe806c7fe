"""Group commit: requests wait a few milliseconds together, one transaction stores them all.

A DuckDB commit costs a few milliseconds (statements and an fsync) whatever it holds, so
committing each request on its own would cap the collector near a few hundred requests/s.
Instead every request hands its `Submission` to the `GroupCommitter` and awaits its outcome.
The writer thread takes everything queued, commits it in one transaction, and has the event
loop answer every request of the group. A 2xx is therefore sent only after its events are
durable.

The writer thread loops on its own rather than being called from the event loop for each
commit: it starts the next commit as soon as the last one ends, with whatever queued
meanwhile, without a round trip through a busy event loop, and it answers a group (one
`call_soon_threadsafe`) before doing anything else. Only when it was idle does it first wait
`window_s`, so that concurrent requests join the same commit; under load the requests that
queued during a commit go at once. After each commit it also folds the committed events into
the rollups when that is due (`Store.tidy`, about once a second).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import TYPE_CHECKING

from candor.server.errors import Unavailable
from candor.storage.base import StoreError
from candor.storage.plan import first_group_size

if TYPE_CHECKING:
    from candor.server.metrics import Metrics
    from candor.storage.base import Outcome, Store, Submission

    Waiting = list[tuple[Submission, asyncio.Future[Outcome]]]


log = logging.getLogger("candor.commit")


class GroupCommitter:
    """Batches submissions from concurrent requests into single store transactions."""

    def __init__(self, store: Store, metrics: Metrics, *, window_s: float) -> None:
        self._store = store
        self._metrics = metrics
        self._window_s = window_s
        self._loop: asyncio.AbstractEventLoop | None = None
        # From the event loop to the writer thread: (submission, future) pairs, then None to
        # stop. A SimpleQueue because putting is one C call that wakes the writer if it waits.
        self._queue: queue.SimpleQueue[tuple[Submission, asyncio.Future[Outcome]] | None] = (
            queue.SimpleQueue()
        )
        self._closing = False
        self._stopped: asyncio.Future[None] | None = None
        self._writer: threading.Thread | None = None

    async def start(self) -> None:
        """Start the writer thread for the running loop (from the app's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._stopped = self._loop.create_future()
        # One thread: the store's single writer, so commits never wait on each other's locks
        # and the event loop never blocks on DuckDB. A daemon, so that a process which never
        # ran the lifespan's shutdown can still exit.
        self._writer = threading.Thread(
            target=self._write_forever, name="candor-writer", daemon=True
        )
        self._writer.start()

    async def stop(self) -> None:
        """Commit everything already submitted, then stop (graceful shutdown)."""
        if self._closing or self._stopped is None:
            return
        self._closing = True
        self._queue.put(None)  # after every submission queued so far (all on this loop)
        await self._stopped  # set by the writer thread after its last answers
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)  # it is returning: a moment at most

    async def submit(self, submission: Submission) -> Outcome:
        """Queue `submission` for the next commit; return once it is durable.

        Raises Unavailable (503) if the store refuses the commit or the collector is stopping.
        """
        if self._closing or self._loop is None:
            raise Unavailable("the collector is shutting down; retry later")
        future: asyncio.Future[Outcome] = self._loop.create_future()
        self._queue.put((submission, future))
        return await future

    # ------------------------------------------------------------------ the writer thread

    def _write_forever(self) -> None:
        assert self._loop is not None and self._stopped is not None
        loop, stopped, get = self._loop, self._stopped, self._queue.get
        get_nowait = self._queue.get_nowait
        carried: Waiting = []  # taken from the queue but beyond the last commit's limit
        closing = False
        try:
            while not closing or carried:
                if not carried:
                    try:
                        item = get_nowait()
                        idle = False
                    except queue.Empty:
                        item = get()  # blocks while there is nothing to do
                        idle = True
                    if item is None:
                        return
                    carried.append(item)
                    if idle and self._window_s > 0:
                        time.sleep(self._window_s)  # let concurrent requests join this commit
                group, carried, closing = self._take(carried, closing)
                self._write(group)
        finally:
            loop.call_soon_threadsafe(_resolve, stopped)

    def _take(self, waiting: Waiting, closing: bool) -> tuple[Waiting, Waiting, bool]:
        """Everything queued (and `waiting`) up to MAX_COMMIT_EVENTS: (group, rest, closing)."""
        get = self._queue.get_nowait
        while not closing:
            try:
                item = get()
            except queue.Empty:
                break
            if item is None:
                closing = True
            else:
                waiting.append(item)
        size = first_group_size([len(submission.events) for submission, _ in waiting])
        return waiting[:size], waiting[size:], closing

    def _write(self, group: Waiting) -> None:
        """Commit the group, have the loop answer it, then fold the rollups if due."""
        assert self._loop is not None
        started = time.perf_counter()
        try:
            outcomes = self._store.commit([submission for submission, _ in group])
        except StoreError as error:
            self._metrics.commit_failures += 1
            failure = Unavailable(f"the store could not commit: {error}")
            self._loop.call_soon_threadsafe(_fail, group, failure)
            return
        except Exception as error:
            # A bug, not bad input: these requests get a 500 (the handler logs it), and the
            # committer goes on serving the next ones rather than leaving them all hanging.
            self._loop.call_soon_threadsafe(_fail, group, error)
            return
        elapsed = time.perf_counter() - started
        self._loop.call_soon_threadsafe(self._answer, group, outcomes, elapsed)
        try:
            self._store.tidy()
        except StoreError as error:  # the next call, a query or the next start retries
            log.warning("could not fold events into the rollups: %s", error)

    # ------------------------------------------------------------------ back on the loop

    def _answer(self, group: Waiting, outcomes: list[Outcome], elapsed: float) -> None:
        metrics = self._metrics
        metrics.commit_seconds.observe(elapsed)
        metrics.commit_events.observe(sum(len(submission.events) for submission, _ in group))
        metrics.commit_requests.observe(len(group))
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if not future.done():  # its request may have been cancelled meanwhile
                future.set_result(outcome)


def _fail(group: Waiting, error: Exception) -> None:
    for _, future in group:
        if not future.done():
            future.set_exception(error)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
