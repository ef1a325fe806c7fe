"""The store's own process: `candor serve` starts it, and it is the store's single writer.

Why a process and not a thread: a DuckDB commit takes and gives back the interpreter lock many
times, and each time it must wrest it from a busy event loop. Measured on the collector
benchmark, a writer thread cost the event loop a third of its requests; in its own process the
writer runs beside the event loop on the second core and shares nothing with it.

It serves two kinds of connection, both socket pairs inherited from the collector:

- the commit stream (`candor.server.writer_wire`), on the main thread: it reads every request
  queued, commits them in one transaction (waiting `window_s` first when the stream had been
  quiet for that long, so that a burst of concurrent requests joins), answers the group with
  one frame, folds the rollups when due, and starts over.
- control connections (`multiprocessing.connection`, pickled calls), one thread each: every
  other Store method (queries for the analytics, ping, prune, close, ...) as a remote call,
  so a long dashboard query never delays a commit.

It ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group): the collector
decides when it stops, by closing the commit stream and calling `close`. If the collector
dies, the kernel kills this process too (PR_SET_PDEATHSIG), and the store's write-ahead log
keeps every commit it acknowledged.

    python -m candor.server.writer_process --parent PID --url URL --commit-fd N
        --control-fds N,N,... [--memory-limit SIZE] [--window-ms MS] [--log-level LEVEL]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from candor.server.writer_wire import (
    BUG,
    HEADER,
    HEADER_SIZE,
    STORE_FAILED,
    Reply,
    read_submission,
    reply_frame,
)
from candor.storage.base import StoreError, StoreLocked, Submission
from candor.storage.plan import first_group_size

if TYPE_CHECKING:
    from candor.storage.base import Store

# A collector restarted at once after a crash finds the file still held for a moment by the
# old store process, which the kernel is killing: wait that long for it to let go. (Against
# a collector that really runs, a second one fails after this long.)
LOCK_WAIT_S = 3.0
# After the commit stream ends, how long to wait for the collector's call to close the store.
CLOSE_WAIT_S = 10.0
LOCK_POLL_S = 0.1
RECV_BYTES = 1 << 20
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The Store methods a control connection may call (besides "close").
REMOTE_METHODS = frozenset(
    {
        "commit", "command_counts", "count_events", "dimension_values", "duration_percentiles",
        "error_counts", "expire_keys", "export_events", "insert_events", "insert_synthetic",
        "installation_counts", "lookup_answer", "ping", "platform_counts", "prune", "tidy",
        "usage_totals", "version_counts",
    }
)  # fmt: skip

log = logging.getLogger("candor.writer")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with(args.parent)
    from candor.server import logs  # after the signals: nothing may interrupt the set-up

    logs.configure(args.log_level)
    controls = [Connection(int(fd)) for fd in args.control_fds.split(",")]
    stream = socket.socket(fileno=args.commit_fd)
    try:
        store = _open(args.url, args.memory_limit)
        # What a backend can do ahead of the first commit (DuckDB: its key filter), so the
        # first requests after a restart do not wait for it.
        prepare = getattr(store, "prepare_for_commits", None)
        if prepare is not None:
            prepare()
    except StoreError as error:
        controls[0].send(("store_error", str(error)))
        return 1
    controls[0].send(("ok", (store.url, store.path)))
    closed = threading.Event()
    for number, connection in enumerate(controls):
        threading.Thread(
            target=_serve_calls,
            args=(connection, store, closed, stream),
            name=f"candor-control-{number}",
            daemon=True,
        ).start()
    try:
        commit_forever(stream, store, args.window_ms / 1000)
    finally:
        # The collector closed the stream: it is stopping (it calls close next) or it died.
        with contextlib.suppress(OSError):
            stream.shutdown(socket.SHUT_WR)  # it reads our replies until this end of stream
        closed.wait(timeout=CLOSE_WAIT_S)
        store.close()
    return 0


def commit_forever(stream: socket.socket, store: Store, window_s: float) -> None:
    """Commit what the collector sends, one transaction per group, until the stream ends."""
    frames = _FrameReader(stream)
    while True:
        waiting = frames.take(block=True)
        if not waiting:
            return  # end of stream, everything answered
        if frames.idle_s >= window_s > 0:
            # The first request after a quiet spell: let the burst it may start join it.
            # Under steady load requests gather during the previous commit instead, and
            # waiting here would only add to every request's latency.
            time.sleep(window_s)
            waiting += frames.take(block=False)
        while waiting:
            group, waiting = _split(waiting)
            stream.sendall(reply_frame(_commit(store, group)))
        try:
            store.tidy()
        except StoreError as error:  # the next call, a query or the next start retries
            log.warning("could not fold events into the rollups: %s", error)


def _commit(store: Store, group: list[Submission]) -> Reply:
    started = time.perf_counter()
    try:
        outcomes = store.commit(group)
    except StoreError as error:
        return Reply(len(group), failure=STORE_FAILED, message=str(error))
    except Exception:
        log.exception("a group commit failed")
        return Reply(len(group), failure=BUG, message="the store process failed; it logged why")
    replays = [(index, o.answer) for index, o in enumerate(outcomes) if o.replayed]
    events = sum(len(s.events) for s, o in zip(group, outcomes, strict=True) if not o.replayed)
    return Reply(len(group), events, time.perf_counter() - started, replays)


def _split(waiting: list[Submission]) -> tuple[list[Submission], list[Submission]]:
    """The first group of at most MAX_COMMIT_EVENTS events (one submission at least), the rest."""
    size = first_group_size([len(submission.events) for submission in waiting])
    return waiting[:size], waiting[size:]


class _FrameReader:
    """Submissions from the commit stream, as many as have arrived."""

    def __init__(self, stream: socket.socket) -> None:
        self._stream = stream
        self._pending = bytearray()
        self.idle_s = 0.0  # how long the last take(block=True) waited for data

    def take(self, *, block: bool) -> list[Submission]:
        """Every whole submission received so far; with `block`, at least one, or [] at the end."""
        self.idle_s = 0.0
        while True:
            try:
                chunk = self._stream.recv(RECV_BYTES, socket.MSG_DONTWAIT)
            except BlockingIOError:
                chunk = None
            if chunk is None:
                submissions = self._parse()
                if submissions or not block:
                    return submissions
                started = time.monotonic()
                chunk = self._stream.recv(RECV_BYTES)
                self.idle_s += time.monotonic() - started
            if not chunk:
                return self._parse()  # the collector closed the stream
            self._pending += chunk

    def _parse(self) -> list[Submission]:
        pending, start, found = self._pending, 0, []
        while len(pending) - start >= HEADER_SIZE:
            (size,) = HEADER.unpack_from(pending, start)
            end = start + HEADER_SIZE + size
            if end > len(pending):
                break
            rows, answer, key = read_submission(memoryview(pending)[start + HEADER_SIZE : end])
            found.append(Submission(rows, None, answer, key))
            start = end
        del pending[:start]
        return found


def _serve_calls(
    connection: Connection, store: Store, closed: threading.Event, stream: socket.socket
) -> None:
    """Answer one control connection's calls until it ends or asks to close the store."""
    while True:
        try:
            method, args, kwargs = connection.recv()
        except (EOFError, OSError):
            closed.set()  # the collector is gone
            return
        if method == "close":
            closed.set()
            store.close()
            connection.send(("ok", None))
            # Ends the commit loop if the stream is still open; main() then exits.
            with contextlib.suppress(OSError):
                stream.shutdown(socket.SHUT_RDWR)
            return
        connection.send(_call(store, method, args, kwargs))


def _call(store: Store, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if method not in REMOTE_METHODS:
        return ("bug", f"not a store method: {method!r}")
    try:
        return ("ok", getattr(store, method)(*args, **kwargs))
    except StoreError as error:
        return ("store_error", str(error))
    except Exception:
        log.exception("store call %s failed", method)
        return ("bug", traceback.format_exc(limit=3))


def _open(url: str, memory_limit: str | None) -> Store:
    from candor.storage import open_store

    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            return open_store(url, memory_limit=memory_limit)
        except StoreLocked:
            if time.monotonic() >= deadline:
                raise
            time.sleep(LOCK_POLL_S)


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when the collector dies, however it dies."""
    if sys.platform == "linux":
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="candor.server.writer_process")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--commit-fd", type=int, required=True)
    parser.add_argument("--control-fds", required=True)
    parser.add_argument("--memory-limit")
    parser.add_argument("--window-ms", type=float, default=2.0)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
