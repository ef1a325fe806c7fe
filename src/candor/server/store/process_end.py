"""The store process's end: `candor serve` starts it, and it is the store's single writer.

Why a process and not a thread: a DuckDB commit takes and gives back the interpreter lock many
times, and each time it must wrest it from a busy event loop. Measured on the collector
benchmark, a writer thread cost the event loop a third of its requests; in its own process the
writer runs beside the event loop on the second core and shares nothing with it.

It serves the two kinds of connection of `candor.server.store.wire`, both inherited from the
collector:

- the commit stream, on the main thread: the group-commit loop
  (`candor.server.store.group_commit`) reads the requests queued, commits them, answers each
  group with one frame, lets the store tidy up, and starts over.
- control connections, one thread each: every other Store method (the analytics questions,
  ping, prune, close, ...) as a remote call, so a long dashboard query never delays a commit.

Every failure of a commit or a call is answered (a StoreError as such, anything else as a
bug, logged) and the process goes on. It exits only when the collector ends the stream, when
the collector dies (the kernel kills it: PR_SET_PDEATHSIG), or when its store must be reopened
(`StoreBroken`): the collector then starts a new one, which recovers every acknowledged commit
from the store's write-ahead log.

It ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group): the collector
decides when it stops, by closing the commit stream and calling `close`.

    python -m candor.server.store.process_end --parent PID --url URL --commit-fd N
        --control-fds N,N,... [--memory-limit SIZE] [--window-ms MS] [--log-level LEVEL]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from candor.server.store.group_commit import commit_groups
from candor.server.store.wire import (
    HEADER,
    HEADER_SIZE,
    Status,
    read_submission,
    reply_frame,
)
from candor.storage.base import StoreBroken, StoreError, StoreLocked, Submission

if TYPE_CHECKING:
    from candor.server.store.wire import Reply
    from candor.storage.base import Store

# A collector restarted at once after a crash finds the file still held for a moment by the
# old store process, which the kernel is killing: wait that long for it to let go. (Against
# a collector that really runs, a second one fails after this long.)
LOCK_WAIT_S = 3.0
# After the commit stream ends, how long to wait for the collector's call to close the store.
CLOSE_WAIT_S = 10.0
LOCK_POLL_S = 0.1
RECV_BYTES = 1 << 20
PRIVATE_UMASK = 0o077
EXIT_BROKEN = 3  # the store must be reopened: the collector starts a new process
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

log = logging.getLogger("candor.store")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with(args.parent)
    # The store's files (DuckDB: the database, its write-ahead log, spilled query data) hold
    # installation IDs: owner only, whenever the engine creates them.
    os.umask(PRIVATE_UMASK)
    from candor.server.runtime import logs  # after the signals: nothing may interrupt the set-up

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
        controls[1].send((Status.STORE_FAILED, str(error)))
        return 1
    batching = store.batching
    if args.window_ms is not None:
        batching = batching._replace(max_wait_s=args.window_ms / 1000)
    controls[1].send((Status.DONE, (store.url, store.path, tuple(batching))))
    closed = threading.Event()
    broken = threading.Event()
    for number, connection in enumerate(controls):
        threading.Thread(
            target=_serve_calls,
            args=(connection, store, closed, broken, stream),
            name=f"candor-control-{number}",
            daemon=True,
        ).start()

    def answer(reply: Reply) -> None:
        stream.sendall(reply_frame(reply))

    try:
        commit_groups(_FrameReader(stream, broken), store, answer, batching)
    except StoreBroken as error:
        log.error("the store must be reopened: %s", error)
        broken.set()
    finally:
        # The collector closed the stream: it is stopping (it calls close next) or it died.
        with contextlib.suppress(OSError):
            stream.shutdown(socket.SHUT_WR)  # it reads our replies until this end of stream
        if not broken.is_set():
            closed.wait(timeout=CLOSE_WAIT_S)
        with contextlib.suppress(StoreError):
            store.close()
    return EXIT_BROKEN if broken.is_set() else 0


class _FrameReader:
    """`group_commit.Source` over the commit stream: the submissions that have arrived."""

    def __init__(self, stream: socket.socket, broken: threading.Event) -> None:
        self._stream = stream
        self._broken = broken  # a control call found the store broken: end the loop
        self._pending = bytearray()
        self._ended = False

    def take(self, timeout: float | None) -> list[Submission] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._receive()
            found = self._parse()
            if found:
                return found
            if self._ended or self._broken.is_set():
                return None
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return []
            # Wake at least once a second to notice a broken store without a request.
            wait = 1.0 if remaining is None else min(remaining, 1.0)
            select.select([self._stream], [], [], wait)

    def _receive(self) -> None:
        """Everything the stream holds now, without waiting."""
        while not self._ended:
            try:
                chunk = self._stream.recv(RECV_BYTES, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:  # shut down by a close call
                chunk = b""
            if not chunk:
                self._ended = True  # the collector closed the stream
                return
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
    connection: Connection,
    store: Store,
    closed: threading.Event,
    broken: threading.Event,
    stream: socket.socket,
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
            with contextlib.suppress(StoreError):
                store.close()
            connection.send((Status.DONE, None))
            # Ends the commit loop if the stream is still open; main() then exits.
            with contextlib.suppress(OSError):
                stream.shutdown(socket.SHUT_RDWR)
            return
        answer = _call(store, method, args, kwargs, broken)
        try:
            connection.send(answer)
        except OSError:
            closed.set()
            return
        if answer[0] == Status.STORE_FAILED and broken.is_set():
            return


def _call(
    store: Store,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    broken: threading.Event,
) -> tuple[Status, Any]:
    if method not in REMOTE_METHODS:
        return (Status.BUG, f"not a store method: {method!r}")
    try:
        return (Status.DONE, getattr(store, method)(*args, **kwargs))
    except StoreBroken as error:
        log.error("the store must be reopened: %s", error)
        broken.set()
        return (Status.STORE_FAILED, str(error))
    except StoreError as error:
        return (Status.STORE_FAILED, str(error))
    except Exception:
        log.exception("store call %s failed", method)
        return (Status.BUG, traceback.format_exc(limit=3))


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
    parser = argparse.ArgumentParser(prog="candor.server.store.process_end")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--commit-fd", type=int, required=True)
    parser.add_argument("--control-fds", required=True)
    parser.add_argument("--memory-limit")
    parser.add_argument("--window-ms", type=float)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
