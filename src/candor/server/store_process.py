"""`StoreProcess`: the collector's store, opened and written in a process of its own.

`candor serve` opens its store this way (see `candor.server.writer_process` for why, and for
the other end). To the rest of the collector it is a `Store` like any other: every method is
a call over one of a few control connections (so that several analytics queries can run at
once), except the hot path, group commits, which the event loop streams through
`commit_stream` with `candor.server.commit_stream.StreamCommitter`.

The collector process never imports the store's engine, so its own memory stays small.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from candor.storage.base import StoreError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

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

CONTROL_CONNECTIONS = 4  # analytics queries that may run at once
READY_TIMEOUT_S = 120.0  # importing the engine and opening (and recovering) a large store
STOP_TIMEOUT_S = 60.0  # closing folds what is pending into the rollups
GONE = "the store process has stopped"


class StoreProcess:
    """A `candor.storage.base.Store` served by `python -m candor.server.writer_process`."""

    def __init__(
        self,
        url: str,
        *,
        memory_limit: str | None = None,
        window_s: float = 0.002,
        log_level: str = "info",
    ) -> None:
        """Start the store process and wait until it has opened `url`.

        Raises StoreError with its one-line reason if it cannot (a locked file, a bad URL...).
        """
        self._closed = False
        self.commit_stream, their_stream = socket.socketpair()
        pairs = [socket.socketpair() for _ in range(CONTROL_CONNECTIONS)]
        theirs = [their_stream.fileno(), *(child.fileno() for _, child in pairs)]
        command = [
            sys.executable, "-m", "candor.server.writer_process",
            "--parent", str(os.getpid()), "--url", url,
            "--commit-fd", str(their_stream.fileno()),
            "--control-fds", ",".join(str(child.fileno()) for _, child in pairs),
            "--window-ms", repr(window_s * 1000), "--log-level", log_level,
        ]  # fmt: skip
        if memory_limit is not None:
            command += ["--memory-limit", memory_limit]
        self._process = subprocess.Popen(command, pass_fds=theirs, stdin=subprocess.DEVNULL)
        their_stream.close()
        connections = []
        for ours, child in pairs:
            child.close()
            connections.append(Connection(ours.detach()))
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for connection in connections[1:]:
            self._idle.put(connection)
        self.url, self.path = self._handshake(connections[0])
        self._idle.put(connections[0])

    def __repr__(self) -> str:
        return f"StoreProcess({self.url!r}, pid={self._process.pid})"

    @property
    def pid(self) -> int:
        return self._process.pid

    def _handshake(self, connection: Connection) -> tuple[str, str | None]:
        status: str
        value: Any
        try:
            ready = connection.poll(READY_TIMEOUT_S)
            status, value = connection.recv() if ready else ("store_error", "timed out")
        except (EOFError, OSError):
            status, value = "store_error", f"{GONE} (exit status {self._process.wait()})"
        if status != "ok":
            self._stop_process()
            raise StoreError(value)
        url, path = value
        return url, path

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

    def prune(self, before: datetime) -> int:
        return int(self._call("prune", before))

    def expire_keys(self, before: datetime) -> int:
        return int(self._call("expire_keys", before))

    def ping(self) -> None:
        self._call("ping")

    def close(self) -> None:
        """Close the store (folding what is pending), then wait for the process to end."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call("close", closing=True)
        except StoreError:
            pass  # already gone: nothing left to close
        finally:
            self._stop_process()

    # ------------------------------------------------------------------ internals

    def _call(self, method: str, *args: Any, closing: bool = False, **kwargs: Any) -> Any:
        if self._closed and not closing:
            raise StoreError("the store is closed")
        connection = self._idle.get()  # waits while every connection is busy
        try:
            connection.send((method, args, kwargs))
            status, value = connection.recv()
        except (EOFError, OSError):
            raise StoreError(GONE) from None
        finally:
            self._idle.put(connection)
        if status == "ok":
            return value
        if status == "store_error":
            raise StoreError(value)
        raise RuntimeError(f"the store process failed in {method}: {value}")

    def _stop_process(self) -> None:
        self.commit_stream.close()
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
