"""Group commit through the store process: the event loop streams requests, the process commits.

The counterpart of `candor.server.commit.GroupCommitter` for a store in its own process
(`candor.server.store_process`). Each request's submission becomes one frame on the commit
stream; the frames of one turn of the event loop leave in one write. The store process
gathers whatever has arrived into one transaction and answers the group with one frame,
which settles that many of the oldest waiting requests, in order. A 2xx is therefore still
sent only after its events are committed. No thread of this process touches the store, so
the event loop never waits for the interpreter lock.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING

from candor.server.errors import Unavailable
from candor.server.writer_wire import (
    COMMITTED,
    HEADER,
    HEADER_SIZE,
    STORE_FAILED,
    read_reply,
    submission_frame,
)
from candor.storage.base import Outcome

if TYPE_CHECKING:
    import socket

    from candor.server.metrics import Metrics
    from candor.server.writer_wire import Reply
    from candor.storage.base import Submission

log = logging.getLogger("candor.commit")


class StoreProcessGone(Unavailable):
    """The store process stopped: nothing can be committed (503) until the collector restarts."""


class StreamCommitter:
    """Sends submissions to the store process and hands each request its outcome."""

    def __init__(self, stream: socket.socket, metrics: Metrics) -> None:
        self._stream = stream
        self._metrics = metrics
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._replies: asyncio.Task[None] | None = None
        self._outgoing: list[bytes] = []  # frames of this turn of the loop, not yet written
        self._waiting: collections.deque[tuple[Submission, asyncio.Future[Outcome]]] = (
            collections.deque()
        )
        self._drained: asyncio.Event | None = None  # set whenever nothing is waiting
        self._closing = False
        self._gone: str | None = None  # why the store process cannot be reached

    async def start(self) -> None:
        """Connect the stream to the running loop (from the app's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._drained = asyncio.Event()
        self._drained.set()
        reader, self._writer = await asyncio.open_unix_connection(sock=self._stream)
        self._replies = asyncio.create_task(self._read_replies(reader), name="candor-replies")

    async def stop(self) -> None:
        """Wait for every submitted request's commit, then end the stream (graceful shutdown)."""
        if self._closing or self._writer is None or self._drained is None:
            return
        self._closing = True
        self._flush()
        await self._drained.wait()
        self._writer.write_eof()  # the store process ends its commit loop
        if self._replies is not None:
            await self._replies

    async def submit(self, submission: Submission) -> Outcome:
        """Queue `submission` for the next group commit; return once it is durable.

        Raises Unavailable (503) if the store refuses the commit, the store process is gone
        or the collector is stopping.
        """
        if self._gone is not None:
            raise StoreProcessGone(self._gone)
        if self._closing or self._loop is None or self._drained is None:
            raise Unavailable("the collector is shutting down; retry later")
        future: asyncio.Future[Outcome] = self._loop.create_future()
        self._waiting.append((submission, future))
        self._drained.clear()
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append(submission_frame(submission))
        return await future

    def _flush(self) -> None:
        if self._outgoing and self._writer is not None and self._gone is None:
            self._writer.write(b"".join(self._outgoing))
        self._outgoing.clear()

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER_SIZE))
                self._settle(read_reply(await reader.readexactly(size)))
        except asyncio.IncompleteReadError as end:
            if end.partial or self._waiting or not self._closing:
                self._lose("the store process stopped; retry later")
        except Exception:
            log.exception("reading the store process's replies failed")
            self._lose("the store process cannot be reached; retry later")

    def _settle(self, reply: Reply) -> None:
        """Answer the `reply.count` oldest waiting requests."""
        group = [self._waiting.popleft() for _ in range(reply.count)]
        if reply.failure != COMMITTED:
            if reply.failure == STORE_FAILED:
                self._metrics.commit_failures += 1
                error: Exception = Unavailable(f"the store could not commit: {reply.message}")
            else:  # a bug: these requests get a 500 (the ingest endpoint logs it)
                error = RuntimeError(reply.message)
            for _, future in group:
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
        if not self._waiting and self._drained is not None:
            self._drained.set()

    def _lose(self, why: str) -> None:
        """The store process is gone: fail every waiting request, and every later one."""
        if self._gone is None:
            log.error("%s", why)
        self._gone = why
        while self._waiting:
            _, future = self._waiting.popleft()
            if not future.done():
                future.set_exception(StoreProcessGone(why))
        if self._drained is not None:
            self._drained.set()
