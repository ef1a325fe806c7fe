"""`Committer`: how an accepted request's events reach the store, whatever the write path.

The ingest endpoint hands each request's `Submission` to the app's committer and awaits its
`Outcome`: its answer once the events are committed (or the one remembered for its
Idempotency-Key), `Unavailable` (503, with Retry-After) when the store cannot commit. Every
write path implements it: the store process's commit stream (`collector_end.StreamCommitter`,
what `candor serve` uses) and a thread over a store in this process (`local.LocalCommitter`).
Both keep their waiting requests in `Pending`, settled by the loop's `Reply`s in order.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Protocol

from candor.server.http.errors import Unavailable
from candor.server.store.wire import Status, failure
from candor.storage.base import Outcome, StoreError

if TYPE_CHECKING:
    from candor.server.runtime.metrics import Metrics
    from candor.server.store.wire import Reply
    from candor.storage.base import Submission

# What a 503 from the store asks the client to wait before it retries (seconds).
RETRY_AFTER_S = 1


class Committer(Protocol):
    """Group commit for the event loop: submit() returns once the events are durable."""

    async def start(self, metrics: Metrics) -> None:
        """Begin taking submissions (from the app's lifespan); commit figures go to `metrics`."""
        ...

    async def submit(self, submission: Submission) -> Outcome:
        """Queue `submission` for the next group commit; return its outcome once committed.

        Raises Unavailable (503) if the store refuses the commit or cannot be reached, or the
        collector is stopping; any other exception is a bug (500).
        """
        ...

    async def stop(self) -> None:
        """Commit everything already submitted, then stop (graceful shutdown); idempotent."""
        ...


def unavailable(message: str) -> Unavailable:
    """A 503 that tells the client when to retry."""
    return Unavailable(message, headers={"Retry-After": str(RETRY_AFTER_S)})


class Pending:
    """The submitted requests not answered yet, oldest first, and the replies that settle them."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._waiting: collections.deque[tuple[Submission, asyncio.Future[Outcome]]] = (
            collections.deque()
        )
        self.drained = asyncio.Event()  # set whenever nothing is waiting
        self.drained.set()

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, submission: Submission) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((submission, future))
        self.drained.clear()
        return future

    def settle(self, reply: Reply) -> None:
        """Answer the `reply.count` oldest waiting requests."""
        group = [self._waiting.popleft() for _ in range(min(reply.count, len(self._waiting)))]
        if reply.status != Status.DONE:
            error = failure(reply.status, reply.message)
            if isinstance(error, StoreError):
                self._metrics.commit_failures += 1
                error = unavailable(f"the store could not commit: {reply.message}")
            for _, future in group:  # a bug's RuntimeError: the endpoint logs it, answers 500
                if not future.done():
                    future.set_exception(error)
        else:
            metrics = self._metrics
            metrics.commit_seconds.observe(reply.seconds)
            metrics.commit_events.observe(reply.events)
            metrics.commit_requests.observe(reply.count)
            replays = dict(reply.replays)
            for index, (submission, future) in enumerate(group):
                if future.done():  # its request was cancelled meanwhile
                    continue
                remembered = replays.get(index)
                if remembered is None:
                    future.set_result(Outcome(submission.answer, replayed=False))
                else:
                    future.set_result(Outcome(remembered, replayed=True))
        if not self._waiting:
            self.drained.set()

    def fail_all(self, error: Exception) -> None:
        """Answer every waiting request with `error` (their commit's fate is unknown: each
        retries, and its Idempotency-Key makes a retry of a stored batch a replay)."""
        while self._waiting:
            _, future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)
        self.drained.set()
