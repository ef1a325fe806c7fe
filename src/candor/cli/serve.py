"""`candor serve`: run the collector (POST /v1/event, health, metrics) on uvicorn.

Two processes: the event loop (uvicorn with uvloop and httptools) and the store's own
process, its single writer (candor.server.store), so that commits never compete with
requests for the interpreter lock. No access log and no proxy headers, so no client address
is read beyond the socket's own (used by the in-memory rate limiter) or written anywhere.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from candor.cli import preflight
from candor.cli.errors import EXIT_FAILED, EXIT_OK, CommandError, UsageError
from candor.server.runtime.settings import (
    DEFAULT_COMMIT_WINDOW_MS,
    DEFAULT_HOST,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_PORT,
    DEFAULT_RATE_BURST,
    DEFAULT_RATE_LIMIT,
    DEFAULT_STORE,
    LOG_LEVELS,
    Settings,
    SettingsError,
)

if TYPE_CHECKING:
    import socket
    from datetime import timedelta

    import uvicorn

# On SIGTERM uvicorn stops accepting and lets running requests finish (they are waiting for
# their commit, milliseconds away); this only bounds a stuck one.
GRACEFUL_SHUTDOWN_S = 30
# Allocations between two collections of the youngest generation (Python's default is 700).
GC_YOUNG_THRESHOLD = 20_000
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.0005


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor serve",
        description="Run the Candor collector: POST /v1/event stores events in the store.",
    )
    parser.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--store",
        metavar="PATH_OR_URL",
        help=f"a DuckDB file or a store URL (default ./{DEFAULT_STORE}; env CANDOR_STORE)",
    )
    parser.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    parser.add_argument("--tls-key", metavar="PEM", help="… and this private key")
    parser.add_argument(
        "--rate-limit",
        type=float,
        metavar="PER_SECOND",
        help=f"requests per second per client address, 0 for none "
        f"(default {DEFAULT_RATE_LIMIT:g}; held in memory only)",
    )
    parser.add_argument(
        "--rate-burst", type=int, help=f"bucket size per address (default {DEFAULT_RATE_BURST})"
    )
    parser.add_argument(
        "--retention",
        metavar="AGE",
        help="delete raw events older than this at start and daily, at least 1d: e.g. 400d, "
        "52w (default: keep them all)",
    )
    parser.add_argument(
        "--commit-window-ms",
        type=float,
        metavar="MS",
        help="how long an idle collector waits for more requests before a commit "
        f"(default {DEFAULT_COMMIT_WINDOW_MS:g}: requests arriving during a commit join the next)",
    )
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help=f"most memory the store's queries may use, e.g. 256MB; it keeps half of it while "
        f"only committing; 'none' for DuckDB's default "
        f"(default {DEFAULT_MEMORY_LIMIT}; env CANDOR_MEMORY_LIMIT)",
    )
    parser.add_argument(
        "--cluster",
        metavar="NAME",
        help="with a clickhouse:// store: create its tables replicated and sharded over this "
        "cluster of the server's remote_servers (ReplicatedMergeTree + Distributed)",
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="default info")
    parser.add_argument(
        "--metrics-token",
        metavar="TOKEN",
        help="a bearer token that opens /metrics only, for a Prometheus scraper "
        "(the admin token opens it too; env CANDOR_METRICS_TOKEN keeps it out of ps)",
    )
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `candor serve`; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_environ(
            os.environ,
            host=args.host,
            port=args.port,
            store=args.store,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            rate_limit=args.rate_limit,
            rate_burst=args.rate_burst,
            retention=args.retention,
            commit_window_ms=args.commit_window_ms,
            memory_limit=args.memory_limit,
            log_level=args.log_level,
            metrics_token=args.metrics_token,
        )
    except SettingsError as error:
        raise UsageError(str(error)) from None
    if args.cluster:
        settings = dataclasses.replace(settings, store=_with_cluster(settings.store, args.cluster))
    if settings.tls_cert is not None and settings.tls_key is not None:
        preflight.check_tls(settings.tls_cert, settings.tls_key)
    preflight.check_memory_limit(settings.memory_limit)
    listeners = preflight.bind(settings.host, settings.port)  # before any file is created
    try:
        return serve(settings, listeners)
    finally:
        for sock in listeners:
            sock.close()


def _with_cluster(store: str, cluster: str) -> str:
    """The ClickHouse store URL `store` asking for `cluster` (the store checks the name)."""
    from candor.storage import scheme_of

    if scheme_of(store) not in ("clickhouse", "clickhouses"):
        raise UsageError("--cluster needs a ClickHouse server store: --store clickhouse://…")
    return store + ("&" if "?" in store else "?") + f"cluster={cluster}"


def serve(settings: Settings, listeners: list[socket.socket]) -> int:
    """Open the store, run the collector on `listeners` until SIGTERM/SIGINT, close the store."""
    import uvicorn

    from candor.server.http.app import create_app
    from candor.server.runtime import logs
    from candor.server.store.collector_end import StoreProcess
    from candor.storage import StoreError

    logs.configure(settings.log_level)
    try:
        store = StoreProcess(
            settings.store,
            memory_limit=settings.memory_limit,
            window_s=settings.commit_window_s or None,  # 0: the store's own batching
            log_level=settings.log_level,
        )
    except StoreError as error:
        raise CommandError(str(error)) from None
    try:
        config = server_config(
            create_app(settings, store, store.committer),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            ssl_certfile=settings.tls_cert,
            ssl_keyfile=settings.tls_key,
        )
        server = uvicorn.Server(config)
        tune_interpreter()
        _announce(settings, store.url)
        _exit_on_stop_signals()
        server.run(sockets=listeners)
    except SystemExit as stop:  # a stop signal (see below), or uvicorn unable to start
        return stop.code if isinstance(stop.code, int) else EXIT_FAILED
    finally:
        store.close()  # after the last commit: checkpoints the WAL into the file
    return EXIT_OK if server.started else EXIT_FAILED


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """The uvicorn settings of the collector (bench/collector.py serves its ceiling with them).

    `app` is any ASGI app (typed Any: uvicorn's own protocol type rejects Starlette's
    signature); `options` are the remaining uvicorn.Config arguments (host, port, ...).
    """
    import uvicorn

    from candor.server.runtime.http_protocol import MAX_CONCURRENCY, BoundedHttpToolsProtocol

    return uvicorn.Config(
        app,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,  # httptools, with bounded headers and pipelining
        limit_concurrency=MAX_CONCURRENCY,
        lifespan="on",
        access_log=False,
        log_config=None,
        proxy_headers=False,  # X-Forwarded-For is a client address: never read it
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **options,
    )


def tune_interpreter() -> None:
    """Settings of this Python process that suit a collector under load (measured, see below).

    - The cyclic garbage collector runs less often, and never rescans what start-up built.
      Each request allocates a few dozen short-lived containers (scope, messages, task,
      future), so with the default threshold it ran every few requests: 12 % of the event
      loop's time under load. What it would free is almost all freed by reference counting
      anyway; a young collection still runs every GC_YOUNG_THRESHOLD allocations.
    - A shorter GIL switch interval, measured (+9 % requests/s) when a writer thread shared
      this process with the event loop; the store now writes in its own process, and the
      setting still bounds how long the loop waits for any helper thread (to_thread calls).
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def _exit_on_stop_signals() -> None:
    """Make SIGTERM/SIGINT end `serve` through its `finally`, never by the default action.

    uvicorn handles both signals while it runs (stop accepting, finish requests, lifespan
    shutdown, which commits what is queued), then restores the previous handlers and raises
    the signal again. With the default handler the process would die there, before the store
    is closed; this one turns it into a normal exit with status 0.
    """

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(EXIT_OK)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def _announce(settings: Settings, store_url: str) -> None:
    """Where to find everything, once, on stderr (stdout stays free for nothing at all)."""
    lines = [
        f"candor serve: collecting at {settings.base_url}/v1/event",
        f"candor serve: store {store_url}",
        f"candor serve: dashboard {settings.base_url}/",
    ]
    if settings.retention is not None:
        lines.append(
            f"candor serve: deleting events older than {_age(settings.retention)} "
            "at start and daily (--retention)"
        )
    if settings.admin_token_generated:
        lines.append(
            f"candor serve: admin token {settings.admin_token} "
            "(generated for this run; set CANDOR_ADMIN_TOKEN to keep one)"
        )
    else:
        lines.append("candor serve: admin token from CANDOR_ADMIN_TOKEN")
    print("\n".join(lines), file=sys.stderr, flush=True)


def _age(duration: timedelta) -> str:
    hours = round(duration.total_seconds() / 3600)
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
