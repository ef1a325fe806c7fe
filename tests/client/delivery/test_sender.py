"""The sender process against a real loopback server in every network condition."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING

import pytest

from candor.client.recording import file_lock
from candor.client.sender import (
    BACKOFF_BASE_S,
    BACKOFF_MAX_S,
    EXIT_BUSY,
    EXIT_EMPTY,
    EXIT_PENDING,
    EXIT_USAGE,
    backoff_delay,
    endpoint_problem,
    retry_after_seconds,
)
from candor.client.spool import as_time, read_state
from candor.schema import MAX_BATCH_EVENTS
from tests.client.delivery.harness import (
    expire_backoff,
    fill,
    numbers_of,
    run_sender,
    sender_command,
    sender_pids,
)
from tests.support.sink import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from candor.client.spool import Spool
    from tests.support.sink import Sink

FAILURE_MODES = ["refuse", "hang", "status500", "status429", "redirect", "lose_answer", "portal"]
# Fault injection, not synchronisation: each delay lands the kill at another point of the
# sender's work after an answer; the assertions hold wherever it lands.
KILL_DELAYS_S = (0, 0.001, 0.002, 0.004, 0.008, 0.016)
SLOW_ANSWER_S = 2.5  # longer than half of a 4 s deadline, with time left to settle


def kill_later(process: subprocess.Popen[bytes], delay: float) -> None:
    threading.Timer(delay, process.kill).start()


def state_of(spool: Spool) -> dict[str, object]:
    return read_state(spool.state_path)


def test_delivers_everything_in_batches_of_at_most_500(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """1000 queued events arrive exactly once, in two batches, and leave the spool empty."""
    numbers = fill(spool, 1000)
    result = run_sender(directory, sink.url)
    assert result.returncode == EXIT_EMPTY, result.stderr
    assert [len(request.batch()) for request in sink.requests] == [500, 500]
    assert all(len(request.batch()) <= MAX_BATCH_EVENTS for request in sink.requests)
    assert numbers_of(sink.events) == numbers
    stats = spool.stats()
    assert stats["queued"] == 0
    assert stats["last_success_at"] is not None
    assert state_of(spool)["failures"] == 0


def test_each_batch_carries_a_fresh_random_key(spool: Spool, directory: Path, sink: Sink) -> None:
    """Every new batch has its own 128-bit Idempotency-Key and a JSON content type."""
    fill(spool, 1200)
    run_sender(directory, sink.url)
    keys = sink.keys()
    assert len(keys) == len(set(keys)) >= 2
    assert all(key is not None and len(bytes.fromhex(key)) == 16 for key in keys)
    assert {request.headers["content-type"] for request in sink.requests} == {"application/json"}


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_failure_keeps_events_and_retry_delivers_once_with_same_key(
    mode: str, spool: Spool, directory: Path, sink: Sink
) -> None:
    """Refused, hanging, 5xx, 429, redirect, lost answer or a captive portal's 200: events
    stay, backoff is persisted, and the retry (same key) delivers each event exactly once."""
    numbers = fill(spool, 7)
    sink.set_mode(mode, retry_after="60")
    before = time.time()
    result = run_sender(directory, sink.url)
    assert result.returncode == EXIT_PENDING, result.stderr
    assert spool.stats()["queued"] == 7
    state = state_of(spool)
    assert state["failures"] == 1
    retry = as_time(state["next_attempt_at"])
    assert retry is not None and retry > before
    first_keys = sink.keys()
    assert len(first_keys) == (0 if mode == "refuse" else 1)  # a redirect is not followed

    sink.set_mode("answer")
    expire_backoff(spool)
    result = run_sender(directory, sink.url)
    assert result.returncode == EXIT_EMPTY, result.stderr
    assert numbers_of(sink.events) == numbers
    assert spool.stats()["queued"] == 0
    if first_keys:
        assert sink.keys() == [first_keys[0], first_keys[0]]


def test_backoff_blocks_attempts_until_it_expires(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """While the persisted backoff runs, a sender posts nothing even to a healthy endpoint."""
    fill(spool, 2)
    sink.set_mode("status500")
    assert run_sender(directory, sink.url).returncode == EXIT_PENDING
    sink.set_mode("answer")
    result = run_sender(directory, sink.url)
    assert result.returncode == EXIT_PENDING
    assert "backing off" in result.stderr
    assert len(sink.requests) == 1
    assert spool.stats()["next_attempt_at"] is not None


def test_consecutive_failures_back_off_exponentially(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """Each failed attempt raises the persisted failure count and lengthens the wait."""
    fill(spool, 1)
    sink.set_mode("status500")
    waits = []
    for attempt in range(1, 4):
        started = time.time()
        assert run_sender(directory, sink.url).returncode == EXIT_PENDING
        state = state_of(spool)
        assert state["failures"] == attempt
        retry = as_time(state["next_attempt_at"])
        assert retry is not None
        waits.append(retry - started)
        expire_backoff(spool)
    low = [BACKOFF_BASE_S * 2 ** (n - 1) / 2 for n in (1, 2, 3)]
    high = [BACKOFF_BASE_S * 2 ** (n - 1) + 5 for n in (1, 2, 3)]
    assert all(lo <= wait <= hi for lo, wait, hi in zip(low, waits, high, strict=True))


def test_backoff_delay_is_capped_and_jittered() -> None:
    """The computed wait doubles per failure, is never below half of it, and stops at the cap."""
    for failures in (1, 2, 5, 50, 10**6):
        nominal = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** min(failures - 1, 16))
        samples = [backoff_delay(failures) for _ in range(50)]
        assert all(nominal / 2 <= wait <= nominal for wait in samples)
    assert len({backoff_delay(3) for _ in range(20)}) > 1


def test_retry_after_in_seconds_and_http_date() -> None:
    """Retry-After is read as seconds or as an HTTP date, capped at a day, garbage ignored."""
    now = 1_700_000_000.0
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Tue, 14 Nov 2023 22:15:20 GMT", now) == pytest.approx(120)
    assert retry_after_seconds("99999999", now) == 24 * 3600
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_429_honours_retry_after(spool: Spool, directory: Path, sink: Sink) -> None:
    """A 429's Retry-After sets the persisted next attempt, not the default backoff."""
    fill(spool, 1)
    sink.set_mode("status429", retry_after="1800")
    before = time.time()
    assert run_sender(directory, sink.url).returncode == EXIT_PENDING
    retry = as_time(state_of(spool)["next_attempt_at"])
    assert retry is not None
    assert before + 1800 <= retry <= time.time() + 1800


def test_503_honours_retry_after(spool: Spool, directory: Path, sink: Sink) -> None:
    """A 503 (the collector's store is down) with Retry-After: the events stay queued and the
    persisted next attempt is the collector's, not the default backoff (capped as for a 429)."""
    numbers = fill(spool, 2)
    sink.set_mode("status503", retry_after="900")
    before = time.time()
    assert run_sender(directory, sink.url).returncode == EXIT_PENDING
    state = state_of(spool)
    retry = as_time(state["next_attempt_at"])
    assert retry is not None
    assert before + 900 <= retry <= time.time() + 900
    assert state["last_failure"] == "HTTP 503"
    assert spool.stats()["queued"] == len(numbers)
    sink.set_mode("status503", retry_after="99999999")
    with open(spool.state_path, "w") as state_file:  # the wait is over: try again now
        json.dump({**state, "next_attempt_at": None}, state_file)
    before = time.time()
    assert run_sender(directory, sink.url).returncode == EXIT_PENDING
    retry = as_time(state_of(spool)["next_attempt_at"])
    assert retry is not None
    assert before + 24 * 3600 <= retry <= time.time() + 24 * 3600


def test_event_rejected_inside_a_202_is_dropped_and_counted(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """One event refused in a 202 body: the batch leaves the spool and `rejected` counts 1."""
    numbers = fill(spool, 5)
    sink.set_mode("reject_index", reject_index=2)
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    assert numbers_of(sink.events) == [n for n in numbers if n != 2]
    stats = spool.stats()
    assert (stats["queued"], stats["rejected"]) == (0, 1)


def test_whole_batch_4xx_is_dropped_and_counted(spool: Spool, directory: Path, sink: Sink) -> None:
    """A 400 for the batch means it can never be accepted: dropped, counted, not retried."""
    fill(spool, 4)
    sink.set_mode("status400")
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    stats = spool.stats()
    assert (stats["queued"], stats["rejected"], stats["next_attempt_at"]) == (0, 4, None)
    assert len(sink.requests) == 1


def test_413_splits_the_batch_instead_of_dropping_it(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """A collector with a smaller batch limit answers 413: the sender halves the batch (new
    keys) until it fits, and every event arrives once."""
    numbers = fill(spool, 300)
    sink.batch_limit = 100
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    assert numbers_of(sink.events) == numbers
    sizes = [len(request.batch()) for request in sink.requests]
    assert sizes[:3] == [300, 150, 75]
    assert spool.stats()["rejected"] == 0


def test_dns_failure_keeps_the_events(spool: Spool, directory: Path) -> None:
    """A host name that cannot resolve is a failed attempt (or, should the resolver hang, the
    hard deadline ends the run): the events stay and the backoff is persisted."""
    fill(spool, 2)
    result = run_sender(directory, "https://candor-test.invalid/v1/event", "--deadline", "10")
    assert result.returncode in (EXIT_PENDING, -signal.SIGALRM), result.stderr
    assert spool.stats()["queued"] == 2
    assert spool.stats()["next_attempt_at"] is not None


def test_invalid_spooled_event_is_never_sent(spool: Spool, directory: Path, sink: Sink) -> None:
    """A spooled record that is not a schema-valid event is dropped locally, never posted."""
    spool.append({"command": "build", "home": "/home/alice"})
    numbers = fill(spool, 2)
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    assert numbers_of(sink.events) == numbers
    assert b"alice" not in b"".join(request.body for request in sink.requests)
    assert spool.stats()["dropped"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://telemetry.example.com/v1/event",
        "http://10.0.0.1/v1/event",
        "http://127.0.0.1@telemetry.example.com/v1/event",
        "http://127.0.0.1.example.com/v1/event",
        "ftp://127.0.0.1/v1/event",
        "https:///v1/event",
    ],
)
def test_sender_refuses_unsafe_endpoints(url: str, spool: Spool, directory: Path) -> None:
    """Plain http:// off loopback (or no host) is refused by the sender itself, with a backoff."""
    fill(spool, 1)
    result = run_sender(directory, url)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.startswith("candor sender: ")
    assert "Traceback" not in result.stderr
    assert spool.stats()["queued"] == 1
    assert spool.stats()["next_attempt_at"] is not None


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/v1/event", "http://localhost/v1/event", "http://[::1]:8/v1/event",
     "https://telemetry.example.com/v1/event"],
)  # fmt: skip
def test_loopback_http_and_any_https_are_allowed(url: str) -> None:
    """http:// to loopback and https:// anywhere pass the sender's endpoint check."""
    assert endpoint_problem(url) is None


def test_second_sender_leaves_at_once(spool: Spool, directory: Path, sink: Sink) -> None:
    """While one sender holds the lock another exits with status 3 and posts nothing."""
    from candor.client.recording import file_lock

    fill(spool, 1)
    with file_lock(spool.sender_lock_path) as lock:
        assert lock.acquired
        result = run_sender(directory, sink.url)
    assert result.returncode == EXIT_BUSY
    assert sink.requests == []


def test_hard_deadline_kills_a_blocked_run_safely(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """A run blocked past its deadline is killed by SIGALRM; the spool is intact, the attempt
    counts as a failure, and the retry reuses the batch's key."""
    numbers = fill(spool, 3)
    sink.set_mode("hang")
    result = run_sender(directory, sink.url, "--deadline", "1")
    assert result.returncode == -signal.SIGALRM
    assert spool.stats()["queued"] == 3
    assert spool.stats()["next_attempt_at"] is not None
    sink.set_mode("answer")
    expire_backoff(spool)
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    assert numbers_of(sink.events) == numbers
    assert len(set(sink.keys())) == 1


def test_sigkill_mid_batch_loses_and_corrupts_nothing(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """SIGKILL while the batch is on the wire: every record survives intact and arrives once."""
    numbers = fill(spool, 600)
    sink.set_mode("hang")
    sender = subprocess.Popen(sender_command(directory, sink.url))
    try:
        wait_until(lambda: len(sink.requests) == 1, "the sender's first request")
    finally:
        sender.kill()
        sender.wait(timeout=30)
    with spool.locked() as tx:
        assert tx.damaged == 0
        assert len(tx.records) == 600
    sink.set_mode("answer")
    expire_backoff(spool)
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    assert numbers_of(sink.events) == numbers


def test_sigkill_right_after_answers_never_duplicates(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """Killed at varying points after the collector answered (reading it, rewriting the spool,
    saving the state): nothing is lost or damaged, and thanks to the key nothing counts twice."""
    numbers = fill(spool, 1000)
    for delay in KILL_DELAYS_S:
        sender = subprocess.Popen(sender_command(directory, sink.url))
        sink.on_answer = functools.partial(kill_later, sender, delay)
        sender.wait(timeout=30)
        sink.on_answer = None
        with spool.locked() as tx:
            assert tx.damaged == 0
        expire_backoff(spool)
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    assert numbers_of(sink.events) == numbers
    assert not [name for name in directory.iterdir() if name.suffix == ".tmp"]


def test_lingering_sender_serves_the_next_runs_events(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """After emptying the spool the sender waits a moment, lock held, and sends events that
    arrive meanwhile itself; then it exits on its own with the spool empty."""
    first = fill(spool, 2)
    sender = subprocess.Popen(sender_command(directory, sink.url, "--linger", "3"))
    try:
        wait_until(lambda: len(sink.events) == 2, "the first delivery")
        assert sender.poll() is None  # lingering
        second = fill(spool, 2, start=100)
        wait_until(lambda: len(sink.events) == 4, "the lingering sender to send new events")
        assert sender.wait(timeout=30) == EXIT_EMPTY
    finally:
        sender.kill()
        sender.wait(timeout=30)
    assert numbers_of(sink.events) == first + second
    assert spool.stats()["queued"] == 0


def test_events_left_at_half_the_deadline_go_to_a_successor(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """A CLI-started sender that runs out of time with events left (a CLI appended while a
    slow batch was on the wire) starts a successor instead of stranding them until the next
    CLI run."""
    first = fill(spool, 1)
    sink.delay_s = SLOW_ANSWER_S  # the answer comes after half the deadline has passed
    with file_lock(spool.sender_lock_path) as lock:  # handed over as the launcher does
        fd = lock.fileno()
        os.set_inheritable(fd, True)
        command = sender_command(directory, sink.url, "--lock-fd", str(fd), "--deadline", "4")
        sender = subprocess.Popen(command, pass_fds=(fd,))
    try:
        wait_until(lambda: len(sink.requests) == 1, "the first batch to be posted")
        second = fill(spool, 1, start=100)
        assert sender.wait(timeout=30) == EXIT_PENDING  # its time is up, an event is left
        sink.delay_s = 0.0
        wait_until(lambda: numbers_of(sink.events) == first + second, "a successor's delivery")
    finally:
        sender.kill()
        sender.wait(timeout=30)
        wait_until(lambda: not sender_pids(directory), "the successor to exit")
    assert spool.stats()["queued"] == 0


def test_sender_summary_goes_to_stderr_only(spool: Spool, directory: Path, sink: Sink) -> None:
    """The foreground sender writes nothing to stdout and one summary line to stderr."""
    fill(spool, 2)
    result = run_sender(directory, sink.url)
    assert result.stdout == ""
    assert "0 queued" in result.stderr
    assert json.loads(sink.requests[0].body)[0]["event_version"] == "1.0"


def test_a_sender_removes_what_killed_writers_left(
    spool: Spool, directory: Path, sink: Sink
) -> None:
    """Temporary files a sender killed inside an atomic write left (log, state, record of sent
    events) are deleted by the next transaction; the config's, not under the spool lock, stay."""
    fill(spool, 2)
    stale = ["telemetry-sent.jsonl.4242.tmp", "telemetry-state.json.77.tmp",
             "telemetry-spool.log.9.tmp"]  # fmt: skip
    kept = ["config.json.31337.tmp", "telemetry-sent.jsonl.tmp", "notes.4242.tmp"]
    for name in stale + kept:
        (directory / name).write_bytes(b"half written")
    assert run_sender(directory, sink.url).returncode == EXIT_EMPTY
    assert len(sink.events) == 2
    left = {path.name for path in directory.iterdir() if path.suffix == ".tmp"}
    assert left == set(kept)
