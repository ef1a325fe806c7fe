"""The launcher: when it starts a sender, and how detached that sender is."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from candor.client.launcher import start_sender_if_needed
from candor.client.recording import file_lock
from tests.client.delivery.harness import fill, numbers_of, sender_pids
from tests.support.sink import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from candor.client.spool import Spool
    from tests.support.sink import Sink


def test_nothing_spooled_means_no_sender_and_no_files(directory: Path, sink: Sink) -> None:
    """With no spool the launcher starts nothing and creates nothing, not even the directory."""
    start_sender_if_needed(str(directory), sink.url, os.environ)
    assert not directory.exists()
    assert sender_pids(directory) == []


def test_starts_a_sender_that_delivers(spool: Spool, directory: Path, sink: Sink) -> None:
    """Queued events make the launcher start a detached sender that empties the spool."""
    numbers = fill(spool, 3)
    start_sender_if_needed(str(directory), sink.url, os.environ)
    wait_until(lambda: spool.stats()["queued"] == 0, "the detached sender to deliver")
    assert numbers_of(sink.events) == numbers


def test_sender_is_detached_with_stdio_closed(spool: Spool, directory: Path, sink: Sink) -> None:
    """The sender runs in its own session, its stdio on /dev/null, holding the sender lock."""
    fill(spool, 1)
    sink.set_mode("hang")
    start_sender_if_needed(str(directory), sink.url, os.environ)
    wait_until(lambda: len(sink.requests) == 1, "the sender's request")
    [pid] = sender_pids(directory)
    assert os.getsid(pid) == pid != os.getsid(0)
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == os.devnull
    with file_lock(spool.sender_lock_path, blocking=False) as lock:
        assert not lock.acquired
    sink.set_mode("answer")  # lets the hanging request go; the sender fails it and exits
    wait_until(lambda: not sender_pids(directory), "the sender to exit")


def test_busy_lock_means_no_second_sender(spool: Spool, directory: Path, sink: Sink) -> None:
    """While the sender lock is held (a sender runs) the launcher starts nothing."""
    fill(spool, 1)
    with file_lock(spool.sender_lock_path) as lock:
        assert lock.acquired
        start_sender_if_needed(str(directory), sink.url, os.environ)
        assert sender_pids(directory) == []
    assert spool.stats()["queued"] == 1


def test_pending_backoff_means_no_sender(spool: Spool, directory: Path, sink: Sink) -> None:
    """A persisted backoff in the future keeps the launcher from starting a sender."""
    fill(spool, 1)
    with spool.locked() as tx:
        tx.state["next_attempt_at"] = time.time() + 600
        tx.save_state()
    start_sender_if_needed(str(directory), sink.url, os.environ)
    assert sender_pids(directory) == []
    with file_lock(spool.sender_lock_path, blocking=False) as lock:
        assert lock.acquired


def test_backoff_from_a_clock_far_ahead_is_ignored(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """A retry time years ahead (a clock set back) does not stop delivery forever."""
    numbers = fill(spool, 1)
    with spool.locked() as tx:
        tx.state["next_attempt_at"] = time.time() + 10 * 365 * 24 * 3600
        tx.save_state()
    start_sender_if_needed(str(directory), sink.url, os.environ)
    wait_until(lambda: spool.stats()["queued"] == 0, "delivery despite the absurd retry time")
    assert numbers_of(sink.events) == numbers


def test_sender_outlives_the_cli_and_is_reaped(spool: Spool, directory: Path, sink: Sink) -> None:
    """A CLI process that started a sender exits at once; the sender finishes afterwards and
    is reaped (no zombie left behind)."""
    numbers = fill(spool, 2)
    sink.set_mode("hang")
    script = (
        "import os, sys\n"
        "from candor.client.launcher import start_sender_if_needed\n"
        "start_sender_if_needed(sys.argv[1], sys.argv[2], os.environ)\n"
    )
    cli = subprocess.run(
        [sys.executable, "-c", script, str(directory), sink.url],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (cli.returncode, cli.stdout, cli.stderr) == (0, b"", b"")
    wait_until(lambda: len(sink.requests) == 1, "the orphaned sender's request")
    [pid] = sender_pids(directory)
    sink.set_mode("answer")
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), "the sender to exit and be reaped")
    expire_and_send(spool, directory, sink)
    assert numbers_of(sink.events) == numbers


def child_states() -> dict[int, str]:
    """This process's children and their states ("Z" for exited and not yet reaped)."""
    states = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid():
            states[int(entry)] = fields[0]
    return states


def test_long_lived_host_leaves_no_zombies(spool: Spool, directory: Path, sink: Sink) -> None:
    """A process that records many times reaps the senders it started: no zombies pile up."""
    for number in range(3):
        fill(spool, 1, number)
        start_sender_if_needed(str(directory), sink.url, os.environ)
        wait_until(lambda: spool.stats()["queued"] == 0 and not sender_pids(directory), "delivery")
    # A sender's cmdline empties while it is still exiting, before it can be reaped: wait until
    # every sender has become a zombie, so the call below has all of them to reap.
    wait_until(lambda: set(child_states().values()) <= {"Z"}, "the senders to exit")
    start_sender_if_needed(str(directory), sink.url, os.environ)  # nothing to send: reaps
    assert "Z" not in child_states().values()
    assert len(sink.events) == 3


NETWORK_MODULES = ("_socket", "socket", "ssl", "urllib.request", "http.client", "subprocess")
RECORD_AND_LIST_MODULES = """
import json, sys
from candor.client import Telemetry
telemetry = Telemetry(platform="your-platform", cli_name="your-cli", cli_version="0.2.1",
                      endpoint=sys.argv[1], policy_url="https://your-platform.com/telemetry")
telemetry.record("build", 5)
print(json.dumps(sorted(set(sys.argv[2:]) & set(sys.modules))))
"""


def test_recording_process_loads_no_network_code(
    spool: Spool, directory: Path, sink: Sink, home: Path
) -> None:
    """A CLI process that records (and starts a sender) never loads socket, ssl, urllib or
    subprocess: the network is only ever touched by the detached sender."""
    command = [sys.executable, "-c", RECORD_AND_LIST_MODULES, sink.url, *NETWORK_MODULES]
    env = {**os.environ, "HOME": str(home)}
    for _ in range(2):  # the first run only shows the notice
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[]"
    wait_until(lambda: len(sink.events) == 1, "the detached sender to deliver the event")


def expire_and_send(spool: Spool, directory: Path, sink: Sink) -> None:
    with spool.locked() as tx:
        tx.state["next_attempt_at"] = None
        tx.save_state()
    start_sender_if_needed(str(directory), sink.url, os.environ)
    wait_until(lambda: spool.stats()["queued"] == 0, "the retry to deliver")
