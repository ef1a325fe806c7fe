"""The collector's end: `StoreProcess` starts the store's own process and speaks to it.

`candor serve` opens its store this way (see `process_end` for why a process, and for the
other end). To the rest of the collector it is a `Store` like any other: every method is a call
over one of a few control connections (so that several analytics queries run at once, and
/healthz has a connection of its own that never waits behind them), except the hot path,
group commits, which the event loop streams through `StreamCommitter` (its `committer`).

If the store process dies (killed, or it exits because its engine must be reopened), the
requests waiting for a commit get a 503 with Retry-After, and the collector starts a new
process on the same store, again and again with a growing pause while that fails: never gone
for good. The new process recovers what was committed from the store's write-ahead log; the
clients retry what got a 503, and their Idempotency-Keys make a retry of a stored batch a
replay. The collector process never imports the store's engine, so its own memory stays small.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from candor.server.http.errors import Unavailable
from candor.server.store import wire
from candor.server.store.committer import Pending, unavailable
from candor.storage.base import Batching, StoreError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from candor.server.runtime.metrics import Metrics
    from candor.storage.base import Outcome, Submission
    from candor.storage.questions import (
        Breakdown,
        DimensionValues,
        ErrorCounts,
        Filters,
        InstallationCounts,
        Percentiles,
        PlatformCounts,
        TimeRange,
        Totals,
        VersionCounts,
    )
    from candor.storage.synthetic import SyntheticEvents

log = logging.getLogger("candor.store")

QUERY_CONNECTIONS = 4  # analytics queries that may run at once
READY_TIMEOUT_S = 120.0  # importing the engine and opening (and recovering) a large store
STOP_TIMEOUT_S = 60.0  # closing folds what is pending into the rollups
GONE = "the store process has stopped"
# Pauses between attempts to start a new store process after one died.
RESTART_PAUSES_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class _Child:
    """One store process: its commit stream and its control connections."""

    def __init__(
        self, url: str, memory_limit: str | None, window_s: float | None, log_level: str
    ) -> None:
        """Start `python -m candor.server.store.process_end` and wait until it opened `url`.

        Raises StoreError with its one-line reason if it cannot (a locked file, a bad URL...).
        """
        self.stream, their_stream = socket.socketpair()
        pairs = [socket.socketpair() for _ in range(QUERY_CONNECTIONS + 1)]
        theirs = [their_stream.fileno(), *(child.fileno() for _, child in pairs)]
        command = [
            sys.executable, "-m", "candor.server.store.process_end",
            "--parent", str(os.getpid()), "--url", url,
            "--commit-fd", str(their_stream.fileno()),
            "--control-fds", ",".join(str(child.fileno()) for _, child in pairs),
            "--log-level", log_level,
        ]  # fmt: skip
        if window_s is not None:
            command += ["--window-ms", repr(window_s * 1000)]
        if memory_limit is not None:
            command += ["--memory-limit", memory_limit]
        self.process = subprocess.Popen(command, pass_fds=theirs, stdin=subprocess.DEVNULL)
        their_stream.close()
        connections = []
        for ours, child in pairs:
            child.close()
            connections.append(Connection(ours.detach()))
        self._ping, first, *rest = connections
        self._ping_lock = threading.Lock()
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for connection in rest:
            self._idle.put(connection)
        try:
            self.url, self.path, self.batching = self._handshake(first)
        except StoreError:
            self.stop()
            raise
        self._idle.put(first)

    def _handshake(self, connection: Connection) -> tuple[str, str | None, Batching]:
        try:
            ready = connection.poll(READY_TIMEOUT_S)
            answer = connection.recv() if ready else (wire.Status.STORE_FAILED, "timed out")
        except (EOFError, OSError):
            exit_status = self.process.wait()
            answer = (wire.Status.STORE_FAILED, f"{GONE} (exit status {exit_status})")
        url, path, batching = wire.result(answer)
        return url, path, Batching(*batching)

    def call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One Store method in the store process. Raises _Gone if the process is."""
        if method == "ping":
            with self._ping_lock:
                return self._exchange(self._ping, method, args, kwargs)
        connection = self._idle.get()  # waits while every connection is busy
        try:
            return self._exchange(connection, method, args, kwargs)
        finally:
            self._idle.put(connection)

    def _exchange(
        self, connection: Connection, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        try:
            connection.send((method, args, kwargs))
            answer = connection.recv()
        except (EOFError, OSError):
            raise _Gone(GONE) from None
        return wire.result(answer)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Close this end's connections and wait for the process (killing it after `timeout`)."""
        self.stream.close()
        self._ping.close()
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _Gone(StoreError):
    """The store process stopped before answering (a new one is being started)."""


class StoreProcess:
    """A `candor.storage.base.Store` served by its own process, and its `committer`."""

    def __init__(
        self,
        url: str,
        *,
        memory_limit: str | None = None,
        window_s: float | None = None,
        log_level: str = "info",
    ) -> None:
        """Start the store process and wait until it has opened `url`.

        `window_s` overrides how long the store's group commits wait for more requests
        (`Store.batching`). Raises StoreError with its one-line reason if it cannot open.
        """
        self._options = (url, memory_limit, window_s, log_level)
        self._closed = False
        self._lock = threading.Lock()  # one restart at a time
        self._restarts = 0  # consecutive failed attempts
        self._next_attempt = 0.0  # time.monotonic() before which no restart is tried
        self._child = _Child(*self._options)
        # Later store processes are started from this one thread, which lives as long as this
        # object: the kernel kills a process whose parent THREAD ends (PR_SET_PDEATHSIG), and
        # the threads that notice a death (asyncio's, a web framework's pool) come and go.
        self._spawner = concurrent.futures.ThreadPoolExecutor(1, "candor-store-spawner")
        self.url, self.path, self.batching = (
            self._child.url,
            self._child.path,
            self._child.batching,
        )
        self.committer = StreamCommitter(self)

    def __repr__(self) -> str:
        return f"StoreProcess({self.url!r}, pid={self.pid})"

    @property
    def pid(self) -> int:
        return self._child.process.pid

    # ------------------------------------------------------------------ the Store methods

    def commit(
        self, submissions: Sequence[Submission], *, now: datetime | None = None
    ) -> list[Outcome]:
        result: list[Outcome] = self._call("commit", list(submissions), now=now)
        return result

    def tidy(self) -> None:
        self._call("tidy")

    def lookup_answer(self, key: str, *, now: datetime | None = None) -> bytes | None:
        answer: bytes | None = self._call("lookup_answer", key, now=now)
        return answer

    def insert_events(self, events: Sequence[Mapping[str, object]], received_at: datetime) -> int:
        return int(self._call("insert_events", [dict(event) for event in events], received_at))

    def insert_synthetic(self, spec: SyntheticEvents) -> int:
        return int(self._call("insert_synthetic", spec))

    def prune(self, before: datetime) -> int:
        return int(self._call("prune", before))

    def expire_keys(self, before: datetime) -> int:
        return int(self._call("expire_keys", before))

    def count_events(self, start: datetime | None = None, end: datetime | None = None) -> int:
        return int(self._call("count_events", start, end))

    def export_events(self, path: str, fmt: str, time_range: TimeRange | None = None) -> int:
        return int(self._call("export_events", path, fmt, time_range))

    def usage_totals(self, time_range: TimeRange, filters: Filters) -> Totals:
        answer: Totals = self._call("usage_totals", time_range, filters)
        return answer

    def command_counts(self, time_range: TimeRange, filters: Filters) -> Breakdown:
        answer: Breakdown = self._call("command_counts", time_range, filters)
        return answer

    def duration_percentiles(
        self, time_range: TimeRange, filters: Filters, *, by_version: bool
    ) -> list[Percentiles]:
        answer: list[Percentiles] = self._call(
            "duration_percentiles", time_range, filters, by_version=by_version
        )
        return answer

    def error_counts(self, time_range: TimeRange, filters: Filters) -> ErrorCounts:
        answer: ErrorCounts = self._call("error_counts", time_range, filters)
        return answer

    def installation_counts(self, time_range: TimeRange, filters: Filters) -> InstallationCounts:
        answer: InstallationCounts = self._call("installation_counts", time_range, filters)
        return answer

    def version_counts(self, time_range: TimeRange, filters: Filters) -> VersionCounts:
        answer: VersionCounts = self._call("version_counts", time_range, filters)
        return answer

    def platform_counts(self, time_range: TimeRange, filters: Filters) -> PlatformCounts:
        answer: PlatformCounts = self._call("platform_counts", time_range, filters)
        return answer

    def dimension_values(self, time_range: TimeRange) -> DimensionValues:
        answer: DimensionValues = self._call("dimension_values", time_range)
        return answer

    def ping(self) -> None:
        self._call("ping")

    def close(self) -> None:
        """Close the store (folding what is pending), then wait for the process to end."""
        if self._closed:
            return
        self._closed = True
        child = self._child
        try:
            child.call("close", (), {})
        except StoreError:
            pass  # already gone: nothing left to close
        finally:
            child.stop()
            self._spawner.shutdown(wait=False)

    # ------------------------------------------------------------------ internals

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise StoreError("the store is closed")
        child = self._child
        try:
            return child.call(method, args, kwargs)
        except _Gone:
            self.replace(child)  # for the next call; this one failed
            raise StoreError(f"{GONE}; a new one was started: retry") from None

    def replace(self, dead: _Child) -> _Child:
        """A running store process in place of `dead` (started now unless another call did).

        Raises StoreError if it cannot start yet; the next call tries again, after a pause
        that grows with each failed attempt.
        """
        with self._lock:
            if self._child is not dead:
                return self._child
            if self._closed:
                raise StoreError("the store is closed")
            if time.monotonic() < self._next_attempt:
                raise StoreError(f"{GONE}; starting a new one failed, trying again shortly")
            dead.stop(timeout=5)
            log.error("%s (exit status %s): starting a new one", GONE, dead.process.returncode)
            try:
                self._child = self._spawner.submit(_Child, *self._options).result()
            except StoreError as error:
                self._restarts += 1
                pause = RESTART_PAUSES_S[min(self._restarts, len(RESTART_PAUSES_S) - 1)]
                self._next_attempt = time.monotonic() + pause
                log.error("could not start a new store process: %s", error)
                raise
            self._restarts = 0
            log.info("a new store process serves %s", self.url)
            return self._child

    @property
    def child(self) -> _Child:
        return self._child


class StreamCommitter:
    """Sends submissions to the store process over its commit stream; settles the replies.

    Each request's submission becomes one frame; the frames of one turn of the event loop
    leave in one write. No thread of this process touches the store, so the event loop never
    waits for the interpreter lock.
    """

    def __init__(self, store: StoreProcess) -> None:
        self._store = store
        self._pending: Pending | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._replies: asyncio.Task[None] | None = None
        self._outgoing: list[bytes] = []  # frames of this turn of the loop, not yet written
        self._closing = False
        self._down: str | None = None  # why no store process takes commits right now
        self._restarting: asyncio.Task[None] | None = None

    async def start(self, metrics: Metrics) -> None:
        self._loop = asyncio.get_running_loop()
        self._pending = Pending(metrics)
        await self._connect(self._store.child)

    async def _connect(self, child: _Child) -> None:
        reader, self._writer = await asyncio.open_unix_connection(sock=child.stream)
        self._replies = asyncio.create_task(
            self._read_replies(reader, child), name="candor-replies"
        )

    async def stop(self) -> None:
        if self._closing or self._pending is None:
            return
        self._closing = True
        self._flush()
        await self._pending.drained.wait()
        if self._writer is not None and self._down is None:
            self._writer.write_eof()  # the store process ends its commit loop
        if self._replies is not None:
            await self._replies
        if self._restarting is not None:
            await self._restarting
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def submit(self, submission: Submission) -> Outcome:
        if self._closing or self._loop is None or self._pending is None:
            raise Unavailable("the collector is shutting down; retry later")
        if self._down is not None:
            raise unavailable(self._down)
        future = self._pending.add(submission)
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append(wire.submission_frame(submission))
        return await future

    def _flush(self) -> None:
        if self._outgoing and self._writer is not None and self._down is None:
            self._writer.write(b"".join(self._outgoing))
        self._outgoing.clear()

    async def _read_replies(self, reader: asyncio.StreamReader, child: _Child) -> None:
        assert self._pending is not None
        try:
            while True:
                (size,) = wire.HEADER.unpack(await reader.readexactly(wire.HEADER_SIZE))
                self._pending.settle(wire.read_reply(await reader.readexactly(size)))
        except asyncio.IncompleteReadError as end:
            if not end.partial and not self._pending and self._closing:
                return  # the end of a graceful stop
        except ConnectionError:
            pass  # the process died: said below
        except Exception:
            log.exception("reading the store process's replies failed")
        self._down = "the store process stopped; a new one is starting: retry shortly"
        self._pending.fail_all(unavailable(self._down))
        if self._writer is not None:
            self._writer.close()
        if not self._closing:
            self._restarting = asyncio.create_task(
                self._restart(child), name="candor-store-restart"
            )

    async def _restart(self, dead: _Child) -> None:
        """Start a new store process (pausing between failed attempts) and reconnect to it."""
        while not self._closing:
            try:
                child = await asyncio.to_thread(self._store.replace, dead)
            except StoreError:
                await asyncio.sleep(RESTART_PAUSES_S[1])
                continue
            if not self.closing:  # stop() may have begun while the new process started
                await self._connect(child)
                self._down = None
            return

    @property
    def closing(self) -> bool:
        return self._closing
