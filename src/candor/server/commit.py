"""Group commit: requests wait a few milliseconds together, one transaction stores them all.

A DuckDB commit costs ~2 ms here (an fsync) whatever it holds, so committing each request on
its own would cap the collector near 500 requests/s. Instead every request hands its
`Submission` to the `GroupCommitter` and awaits its outcome; one task gathers what arrived
within `window_s` (and whatever arrives while the previous commit runs), commits it on the
single writer thread, then answers every waiting request. A 2xx is therefore sent only after
its events are durable.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from candor.server.errors import Unavailable
from candor.storage.base import StoreError

if TYPE_CHECKING:
    from candor.server.metrics import Metrics
    from candor.storage.base import Outcome, Store, Submission

# Events in one transaction at most: bounds the memory and latency of one commit (100
# requests of 500 events); what is left waits for the next commit, which starts at once.
MAX_COMMIT_EVENTS = 50_000


class GroupCommitter:
    """Batches submissions from concurrent requests into single store transactions."""

    def __init__(self, store: Store, metrics: Metrics, *, window_s: float) -> None:
        self._store = store
        self._metrics = metrics
        self._window_s = window_s
        self._pending: list[tuple[Submission, asyncio.Future[Outcome]]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # One thread: the store's single writer, so commits never wait on each other's locks
        # and the event loop never blocks on DuckDB.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="candor-writer")

    async def start(self) -> None:
        """Start the commit task on the running loop (from the app's lifespan)."""
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="candor-group-commit")

    async def stop(self) -> None:
        """Commit everything already submitted, then stop (graceful shutdown)."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
        self._writer.shutdown(wait=True)

    async def submit(self, submission: Submission) -> Outcome:
        """Queue `submission` for the next commit; return once it is durable.

        Raises Unavailable (503) if the store refuses the commit or the collector is stopping.
        """
        if self._closing or self._wakeup is None:
            raise Unavailable("the collector is shutting down; retry later")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((submission, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            if self._window_s > 0 and not self._closing:
                await asyncio.sleep(self._window_s)  # let concurrent requests join this commit
            self._wakeup.clear()
            group = self._take()
            if group:
                await self._commit(loop, group)
            if self._pending:
                self._wakeup.set()  # leftovers beyond MAX_COMMIT_EVENTS go next, now
            elif self._closing:
                return

    def _take(self) -> list[tuple[Submission, asyncio.Future[Outcome]]]:
        events = 0
        for count, (submission, _) in enumerate(self._pending):
            events += len(submission.events)
            if events > MAX_COMMIT_EVENTS and count > 0:
                group, self._pending = self._pending[:count], self._pending[count:]
                return group
        group, self._pending = self._pending, []
        return group

    async def _commit(
        self,
        loop: asyncio.AbstractEventLoop,
        group: list[tuple[Submission, asyncio.Future[Outcome]]],
    ) -> None:
        submissions = [submission for submission, _ in group]
        started = time.perf_counter()
        try:
            outcomes = await loop.run_in_executor(self._writer, self._store.commit, submissions)
        except StoreError as error:
            self._metrics.commit_failures += 1
            failure = Unavailable(f"the store could not commit: {error}")
            for _, future in group:
                if not future.done():
                    future.set_exception(failure)
            return
        except Exception as error:
            # A bug, not bad input: these requests get a 500 (the handler logs it), and the
            # committer goes on serving the next ones rather than leaving them all hanging.
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        metrics = self._metrics
        metrics.commit_seconds.observe(time.perf_counter() - started)
        metrics.commit_events.observe(sum(len(s.events) for s in submissions))
        metrics.commit_requests.observe(len(submissions))
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if not future.done():  # its request may have been cancelled meanwhile
                future.set_result(outcome)
