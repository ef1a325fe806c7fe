"""`candor serve` runs its store in a process of its own: how that process lives and dies."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from candor.server.store.process_end import CLOSE_WAIT_S
from tests.conftest import unused_port
from tests.support.collector import CANDOR, start_collector, wait_gone
from tests.support.load import make_event

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)


def cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as file:
        return file.read().replace(b"\0", b" ").decode()


def loaded_libraries(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as file:
        return file.read()


def test_the_store_has_its_own_process_and_the_collector_never_loads_the_engine(
    tmp_path: Path,
) -> None:
    collector = start_collector(tmp_path)
    try:
        (child,) = collector.children()
        assert "candor.server.store.process_end" in cmdline(child)
        assert "_duckdb" in loaded_libraries(child)
        assert "_duckdb" not in loaded_libraries(collector.process.pid)
        answer = httpx.post(collector.event_url, json=make_event())
        assert answer.status_code == 202
    finally:
        # Well before the store process would give up waiting for the collector's close call.
        assert collector.stop(timeout=CLOSE_WAIT_S / 2) == 0
    wait_gone(child, timeout=5)
    assert collector.store_rows("SELECT count(*) FROM events") == [(1,)]


def test_the_store_process_dies_with_a_killed_collector_and_a_restart_reopens_the_store(
    tmp_path: Path,
) -> None:
    first = start_collector(tmp_path, name="first")
    (child,) = first.children()
    keyed = {"Idempotency-Key": "before-the-kill"}
    assert httpx.post(first.event_url, json=make_event(), headers=keyed).status_code == 202
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=30)
    wait_gone(child, timeout=10)  # killed by the kernel with its parent (PR_SET_PDEATHSIG)
    second = start_collector(tmp_path, name="second", extra_args=("--log-level", "debug"))
    try:
        # Its key filter was built from the store before it took a request.
        assert "idempotency key filter built for 1 keys" in second.log_text()
        retry = httpx.post(second.event_url, json=make_event(), headers=keyed)
        assert (retry.status_code, retry.headers.get("Idempotent-Replayed")) == (202, "true")
        assert httpx.post(second.event_url, json=make_event()).status_code == 202
    finally:
        assert second.stop() == 0
    assert second.store_rows("SELECT count(*) FROM events") == [(2,)]


def test_a_second_collector_on_the_same_store_says_why_it_cannot_start(tmp_path: Path) -> None:
    first = start_collector(tmp_path)
    try:
        second = subprocess.run(
            [CANDOR, "serve", "--port", str(unused_port()), "--store", str(first.store_path)],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=tmp_path,
        )
        assert second.returncode == 1
        assert "is open in another process" in second.stderr
        assert "Traceback" not in second.stderr
        assert httpx.post(first.event_url, json=make_event()).status_code == 202
    finally:
        assert first.stop() == 0


def test_a_killed_store_process_is_replaced_and_the_collector_recovers_by_itself(
    tmp_path: Path,
) -> None:
    """Issue #9: the store process dies; the collector answers 503 (with Retry-After) until
    it has started a new one, then takes events again, with no manual restart; every event it
    acknowledged, before or after, is stored."""
    collector = start_collector(tmp_path)
    keyed = {"Idempotency-Key": "before-the-kill"}
    try:
        (child,) = collector.children()
        assert httpx.post(collector.event_url, json=make_event(), headers=keyed).status_code == 202
        os.kill(child, signal.SIGKILL)
        wait_gone(child, timeout=10)
        statuses = []
        while not statuses or statuses[-1] != 202:  # a client retrying, as the sender does
            answer = httpx.post(collector.event_url, json=make_event(), timeout=30)
            statuses.append(answer.status_code)
            if answer.status_code == 503:
                assert answer.json()["error"] == "unavailable"
                assert answer.headers["Retry-After"]
                assert len(statuses) < 600, "the collector never recovered"
                time.sleep(0.05)  # the client's pause before its retry
        assert set(statuses) <= {202, 503}
        (replacement,) = collector.children()
        assert replacement != child
        assert httpx.get(f"{collector.url}/healthz").status_code == 200
        retry = httpx.post(collector.event_url, json=make_event(), headers=keyed)
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert collector.running
    finally:
        collector.stop()
    assert collector.store_rows("SELECT count(*) FROM events") == [(2,)]
    assert "Traceback" not in collector.log_text()


def test_ctrl_c_to_the_process_group_stops_both_gracefully(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the store process too: it must wait for the collector."""
    collector = start_collector(tmp_path)
    (child,) = collector.children()
    accepted = sum(
        httpx.post(collector.event_url, json=make_event()).status_code == 202 for _ in range(20)
    )
    os.kill(child, signal.SIGINT)  # as the terminal would, to both
    collector.process.send_signal(signal.SIGINT)
    assert collector.process.wait(timeout=60) == 0
    wait_gone(child, timeout=10)
    assert collector.store_rows("SELECT count(*) FROM events") == [(accepted,)]
    assert "Traceback" not in collector.log_text()


def test_the_store_and_its_write_ahead_log_are_private(tmp_path: Path) -> None:
    """Issue #9: they hold installation IDs, so 0600, not world-readable 0644."""
    collector = start_collector(tmp_path)
    try:
        assert httpx.post(collector.event_url, json=make_event()).status_code == 202
        wal = collector.store_path.with_name(collector.store_path.name + ".wal")
        assert wal.exists()  # the commit is in the log until a checkpoint
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE(collector.store_path.stat().st_mode) == 0o600
    finally:
        assert collector.stop() == 0
    assert stat.S_IMODE(collector.store_path.stat().st_mode) == 0o600
