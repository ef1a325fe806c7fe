"""The spool on disk: record format, damage, bounds, purge, counters and file modes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from candor.client.recording import fnv1a
from candor.client.spool import (
    MAX_SPOOL_BYTES,
    MAX_SPOOL_EVENTS,
    SPOOL_FILE,
    Spool,
    decode_records,
    encode_record,
)
from tests.client.delivery.harness import fill, make_event, numbers_of

if TYPE_CHECKING:
    from pathlib import Path


def queued_numbers(spool: Spool) -> list[int]:
    with spool.locked() as tx:
        return numbers_of([json.loads(record.payload) for record in tx.records])


def test_append_round_trips_events_in_order(spool: Spool) -> None:
    """Appended events come back intact, in order, one checksummed line each."""
    fill(spool, 5)
    with open(spool.path, "rb") as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 5
    with spool.locked() as tx:
        assert [json.loads(r.payload) for r in tx.records] == [make_event(n) for n in range(5)]
        assert len({record.rid for record in tx.records}) == 5
    assert spool.stats()["queued"] == 5


def test_directory_and_files_are_private(spool: Spool, directory: Path) -> None:
    """The spool creates its directory 0700 and its files 0600."""
    fill(spool, 1)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in (spool.path, spool.lock_path):
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600


def test_damaged_lines_are_skipped_and_counted(spool: Spool) -> None:
    """A corrupted or torn line is skipped; its neighbours survive; the rewrite counts it."""
    fill(spool, 3)
    with open(spool.path, "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    flipped = lines[1].replace(b'"build"', b'"bxild"')
    with open(spool.path, "wb") as handle:
        handle.write(lines[0] + flipped + lines[2] + b"garbage without checksum\n")
    with spool.locked() as tx:
        assert tx.damaged == 2
        assert numbers_of([json.loads(r.payload) for r in tx.records]) == [0, 2]


def test_torn_tail_does_not_swallow_the_next_record(spool: Spool) -> None:
    """After a write cut short (no newline), the next append still lands as its own record."""
    fill(spool, 1)
    torn = encode_record(make_event(1))[:40]
    with open(spool.path, "ab") as handle:
        handle.write(torn)
    spool.append(make_event(2))
    with open(spool.path, "rb") as handle:
        records, damaged = decode_records(handle.read())
    assert damaged == 1
    assert numbers_of([json.loads(record.payload) for record in records]) == [0, 2]


def test_full_spool_is_bounded_and_drops_the_oldest(spool: Spool) -> None:
    """Past 1000 events the oldest go, the newest stay, and the drop count is kept locally."""
    total = MAX_SPOOL_EVENTS + 150
    fill(spool, total)
    stats = spool.stats()
    queued = stats["queued"]
    assert isinstance(queued, int)
    assert 0 < queued <= MAX_SPOOL_EVENTS
    assert os.path.getsize(spool.path) <= MAX_SPOOL_BYTES
    assert stats["dropped"] == total - queued
    assert queued_numbers(spool) == list(range(total - queued, total))


def test_byte_bound_applies_to_large_records(spool: Spool) -> None:
    """The 1 MiB bound holds on its own: 2 KB records are trimmed by size, oldest first."""
    padding = "x" * 2000  # the spool stores any JSON object; schema events are far smaller
    total = 700
    for number in range(total):
        spool.append(make_event(number, padding=padding))
    size = os.path.getsize(spool.path)
    queued = spool.stats()["queued"]
    assert isinstance(queued, int)
    assert size <= MAX_SPOOL_BYTES
    assert queued < total
    assert queued_numbers(spool) == list(range(total - queued, total))
    assert spool.stats()["dropped"] == total - queued


def test_purge_deletes_queued_events_only(spool: Spool) -> None:
    """purge() empties the spool (used by `telemetry disable`) and keeps the counters."""
    fill(spool, 4)
    with spool.locked() as tx:
        tx.state.update(dropped=7, inflight={"key": "k", "ids": "x"})
        tx.save_state()
    spool.purge()
    stats = spool.stats()
    assert stats["queued"] == 0
    assert stats["dropped"] == 7
    assert not os.path.exists(spool.path)
    with spool.locked() as tx:
        assert tx.state["inflight"] is None


def test_purge_without_a_spool_creates_nothing(spool: Spool, directory: Path) -> None:
    """Purging when nothing was ever spooled does not create the config directory."""
    spool.purge()
    assert not directory.exists()


def test_stats_of_a_fresh_spool(spool: Spool, directory: Path) -> None:
    """A spool that never ran reports zeros and creates nothing."""
    assert spool.stats() == {
        "queued": 0,
        "dropped": 0,
        "rejected": 0,
        "last_success_at": None,
        "next_attempt_at": None,
        "last_failure": None,
        "last_failure_at": None,
    }
    assert not directory.exists()


def test_stats_report_times_in_utc(spool: Spool) -> None:
    """Last success and a pending retry are ISO-8601 UTC strings; a past retry is not shown."""
    fill(spool, 1)
    now = time.time()
    with spool.locked() as tx:
        tx.state.update(last_success_at=0, next_attempt_at=now + 600)
        tx.save_state()
    stats = spool.stats()
    assert stats["last_success_at"] == "1970-01-01T00:00:00Z"
    assert stats["next_attempt_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 600))
    with spool.locked() as tx:
        tx.state["next_attempt_at"] = now - 1
        tx.save_state()
    assert spool.stats()["next_attempt_at"] is None


def test_damaged_state_file_reads_as_defaults(spool: Spool) -> None:
    """A hand-mangled state file neither crashes the spool nor invents counts."""
    fill(spool, 1)
    with open(spool.state_path, "w") as handle:
        handle.write('{"dropped": "many", "failures": [1]')
    assert spool.stats()["dropped"] == 0
    with open(spool.state_path, "w") as handle:
        handle.write('{"dropped": "many", "rejected": 3}')
    assert spool.stats()["dropped"] == 0
    assert spool.stats()["rejected"] == 3


def test_files_lists_delivery_files(spool: Spool, directory: Path) -> None:
    """files() names the spool, its lock, the state, the sender lock and the sent record."""
    names = [os.path.basename(path) for path in spool.files()]
    assert SPOOL_FILE in names
    assert len(names) == 5  # the log, its lock, the state, the sender lock, what was sent
    assert all(os.path.dirname(path) == str(directory) for path in spool.files())


def test_concurrent_appends_from_processes_lose_nothing(spool: Spool, directory: Path) -> None:
    """Eight processes appending at once leave every record intact and none interleaved."""
    script = (
        "import sys\n"
        "from candor.client.spool import Spool\n"
        "from tests.client.delivery.harness import fill\n"
        "fill(Spool(sys.argv[1]), 50, int(sys.argv[2]))\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(directory), str(n * 1000)])
        for n in range(8)
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0] * 8
    with spool.locked() as tx:
        assert tx.damaged == 0
    expected = sorted(n * 1000 + i for n in range(8) for i in range(50))
    assert queued_numbers(spool) == expected


def test_lines_of_earlier_releases_still_decode() -> None:
    """A line an earlier release spooled (FNV-1a checksum) is read back, not dropped as torn;
    the same line with one byte changed is not."""
    body = b"0123456789abcdef 1700000000 " + json.dumps(make_event(7)).encode()
    old_line = b"%08x %s\n" % (fnv1a(body), body)
    records, damaged = decode_records(old_line + old_line.replace(b"0123", b"0124"))
    assert [record.payload for record in records] == [json.dumps(make_event(7)).encode()]
    assert damaged == 1
