"""`LocalCommitter`: the group-commit loop in a thread, for a store opened in this process.

`candor serve` never uses it: its store lives in a process of its own (`collector_end`). An
app built over a store object in the same process (tests, embedding) gets this instead, which
runs the very loop the store process runs (`group_commit.commit_groups`), fed by a queue
rather than a socket, and settles its requests with the same `Pending`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING

from candor.server.http.errors import Unavailable
from candor.server.store.committer import Pending, unavailable
from candor.server.store.group_commit import commit_groups
from candor.storage.base import StoreBroken

if TYPE_CHECKING:
    from candor.server.runtime.metrics import Metrics
    from candor.server.store.wire import Reply
    from candor.storage.base import Batching, Outcome, Store, Submission


class LocalCommitter:
    """A `Committer` over `store`, batching as the store asks (`window_s` overrides its wait)."""

    def __init__(self, store: Store, *, window_s: float | None = None) -> None:
        self._store = store
        batching: Batching = store.batching
        if window_s is not None:
            batching = batching._replace(max_wait_s=window_s)
        self._batching = batching
        # From the event loop to the writer thread: submissions, then None to stop. A
        # SimpleQueue because putting is one C call that wakes the writer if it waits.
        self._queue: queue.SimpleQueue[Submission | None] = queue.SimpleQueue()
        self._pending: Pending | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: threading.Thread | None = None
        self._closing = False
        self._broken: str | None = None  # why the store cannot commit any more

    async def start(self, metrics: Metrics) -> None:
        self._loop = asyncio.get_running_loop()
        self._pending = Pending(metrics)
        # A daemon, so that a process which never ran the lifespan's shutdown can still exit.
        self._writer = threading.Thread(target=self._write, name="candor-writer", daemon=True)
        self._writer.start()

    async def submit(self, submission: Submission) -> Outcome:
        if self._closing or self._pending is None:
            raise Unavailable("the collector is shutting down; retry later")
        if self._broken is not None:
            raise unavailable(self._broken)
        future = self._pending.add(submission)
        self._queue.put(submission)
        return await future

    async def stop(self) -> None:
        if self._closing or self._pending is None:
            return
        self._closing = True
        self._queue.put(None)  # after every submission queued so far
        await self._pending.drained.wait()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)

    def _write(self) -> None:
        assert self._loop is not None and self._pending is not None
        loop, settle = self._loop, self._pending.settle

        def answer(reply: Reply) -> None:
            loop.call_soon_threadsafe(settle, reply)

        try:
            commit_groups(_QueueSource(self._queue), self._store, answer, self._batching)
        except StoreBroken as error:  # its requests are answered; later ones get a 503
            loop.call_soon_threadsafe(self._give_up, f"the store must be reopened: {error}")

    def _give_up(self, why: str) -> None:
        self._broken = why
        assert self._pending is not None
        self._pending.fail_all(unavailable(why))


class _QueueSource:
    """`group_commit.Source` over the committer's queue (None in it: the end)."""

    def __init__(self, waiting: queue.SimpleQueue[Submission | None]) -> None:
        self._queue = waiting
        self._ended = False

    def take(self, timeout: float | None) -> list[Submission] | None:
        if self._ended:
            return None
        taken: list[Submission] = []
        try:
            item = self._queue.get(timeout=timeout) if timeout != 0 else self._queue.get_nowait()
            while True:
                if item is None:
                    self._ended = True
                    return taken or None
                taken.append(item)
                item = self._queue.get_nowait()
        except queue.Empty:
            return taken
