"""A real `candor serve` on 127.0.0.1, as a subprocess, for tests that need the whole collector.

    from tests.support.collector import start_collector

    collector = start_collector(tmp_path)
    httpx.post(collector.event_url, json=event)
    collector.stop()                      # SIGTERM, as an operator would
    rows = collector.store_rows("SELECT count(*) FROM events")

It runs `.venv/bin/candor serve --port <free> --store <tmp>/events.duckdb` with the test's
(scrubbed) environment plus `env`, captures stdout and stderr to files, and returns once
`/healthz` answers 200. `CANDOR_ADMIN_TOKEN` is set to a fresh token unless `env` sets it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from candor.schema import FIELD_NAMES, validate_event
from tests.conftest import unused_port

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

CANDOR = str(Path(sys.executable).with_name("candor"))
READY_TIMEOUT_S = 60.0  # importing duckdb, pyarrow and uvicorn on a loaded 2-core machine
STOP_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.05
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


class CollectorFailed(RuntimeError):
    """The collector exited or never became ready; the message carries its log."""


class Collector:
    """A running `candor serve` process and where to reach it."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        port: int,
        store_path: Path,
        admin_token: str,
        log_dir: Path,
        scheme: str,
    ) -> None:
        self.process = process
        self.port = port
        self.store_path = store_path
        self.admin_token = admin_token
        self.log_dir = log_dir
        self.scheme = scheme
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.event_url = f"{self.url}/v1/event"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (graceful: finish requests, commit, exit) and wait; the exit status."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> int:
        """SIGKILL: no chance to flush anything; the exit status.

        Returns once the store process has died too (the kernel kills it with the collector),
        so that the store's file can be opened at once.
        """
        children = self.children()
        if self.running:
            self.process.kill()
        status = self.process.wait(timeout=STOP_TIMEOUT_S)
        for pid in children:
            wait_gone(pid)
        return status

    def children(self) -> list[int]:
        """The pids of the collector's child processes (its store process)."""
        pid = self.process.pid
        found: list[int] = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):  # the thread or the process has ended
                found += [int(child) for child in (task / "children").read_text().split()]
        return found

    def log_text(self) -> str:
        """Everything the process wrote on stdout and stderr so far."""
        return "".join(
            (self.log_dir / name).read_text(errors="replace") for name in ("stdout", "stderr")
        )

    def store_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of `sql` read straight from the DuckDB file (only once the process stopped)."""
        import duckdb

        assert not self.running, "DuckDB allows one process per file: stop the collector first"
        with duckdb.connect(str(self.store_path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def assert_survived_fuzzing(self) -> None:
        """Healthy after a fuzz, then stopped cleanly, no traceback, only valid events stored."""
        with httpx.Client(timeout=10) as http:
            assert http.get(f"{self.url}/healthz").status_code == 200
        assert self.stop() == 0
        assert "Traceback" not in self.log_text()
        for row in self.store_rows(f"SELECT {', '.join(FIELD_NAMES)} FROM events"):
            event = dict(zip(FIELD_NAMES, row, strict=True))
            event["installation_id"] = str(event["installation_id"])
            assert validate_event(event) == []


def wait_gone(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    """Wait until process `pid` has exited (a zombie counts as exited: it holds no files)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        if "\nState:\tZ" in status:
            return
        time.sleep(POLL_INTERVAL_S)  # polling interval, not synchronisation
    raise AssertionError(f"process {pid} still runs after {timeout:g} s")


def start_collector(
    tmp_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    store_path: Path | None = None,
    name: str = "collector",
) -> Collector:
    """Start `candor serve` on a free loopback port with its store in `tmp_path`; wait until ready.

    `extra_args` go to `candor serve` as they are (e.g. `("--rate-limit", "5")`); with
    `--tls-cert` among them the collector speaks HTTPS and readiness is polled without
    verification (the test's own client then verifies against its CA).
    """
    store = store_path or tmp_path / "events.duckdb"
    log_dir = tmp_path / name
    log_dir.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, **(env or {})}
    # Hex, not urlsafe: a token starting with "-" reads as a flag after `--token` (a test
    # failed so about once in 64 runs); candor serve's own tokens avoid it the same way.
    child_env.setdefault("CANDOR_ADMIN_TOKEN", secrets.token_hex(24))
    scheme = "https" if "--tls-cert" in extra_args else "http"
    problem = ""
    for _ in range(START_ATTEMPTS):
        port = unused_port()
        args = [CANDOR, "serve", "--port", str(port), "--store", str(store), *extra_args]
        with open(log_dir / "stdout", "ab") as out, open(log_dir / "stderr", "ab") as err:
            process = subprocess.Popen(
                args, stdout=out, stderr=err, env=child_env, cwd=tmp_path, stdin=subprocess.DEVNULL
            )
        collector = Collector(
            process,
            port=port,
            store_path=store,
            admin_token=child_env["CANDOR_ADMIN_TOKEN"],
            log_dir=log_dir,
            scheme=scheme,
        )
        problem = _wait_ready(collector)
        if not problem:
            return collector
        collector.kill()
        if "address already in use" not in collector.log_text():
            break
    raise CollectorFailed(f"{problem}\n--- log ---\n{collector.log_text()}")


def _wait_ready(collector: Collector) -> str:
    """'' once /healthz answers 200; else why not (the process exited, or the time ran out)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(verify=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not collector.running:
                return f"candor serve exited with status {collector.process.returncode}"
            try:
                if client.get(f"{collector.url}/healthz").status_code == 200:
                    return ""
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(POLL_INTERVAL_S)  # polling interval, not synchronisation
    return f"candor serve did not answer /healthz within {READY_TIMEOUT_S:g} s"
