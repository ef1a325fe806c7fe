"""Reading the spool back and rewriting it under its lock: the sender's transactions, a trim,
`telemetry disable`'s purge and `telemetry status`'s counters.

The log's format and the append a CLI run makes are in `candor.client.spool`; this module is
what only the sender, the `telemetry` commands and a run that finds the spool full load.
Every change here rewrites the whole log (or the state) with `atomic_write`, under
`telemetry-spool.lock`, so a kill at any point leaves the old file or the new one.
"""

from __future__ import annotations

import os
import time

from candor.client.files import atomic_write, read_tail
from candor.client.recording import file_lock
from candor.client.spool import (
    MAX_SPOOL_BYTES,
    MIN_RECORD_BYTES,
    TRIM_TO_BYTES,
    TRIM_TO_EVENTS,
    Record,
    Spool,
    as_int,
    as_time,
    backoff_pending,
    decode_records,
    read_state,
)


def _utc_iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def read_records(path: str) -> tuple[list[Record], int]:
    """The log's intact records and its damaged lines, reading at most MAX_SPOOL_BYTES.

    A log larger than that (appends keep it below) is damage or tampering: only its newest
    bytes are read, and the lines before them count as damaged, estimated from the size of
    the lines read, since counting them would mean reading them.
    """
    try:
        data, skipped = read_tail(path, MAX_SPOOL_BYTES)
    except FileNotFoundError:
        return [], 0
    records, damaged = decode_records(data)
    if skipped:
        average = len(data) // max(1, len(records) + damaged) or MIN_RECORD_BYTES
        damaged += max(1, skipped // average)
    return records, damaged


def write_state(path: str, state: dict[str, object]) -> None:
    """Replace the state file (under the spool lock)."""
    import json  # the sender and the rare trim only: a CLI run that appends never writes it

    atomic_write(path, json.dumps(state, separators=(",", ":")).encode() + b"\n")


class SpoolTransaction:
    """The log's records and the state, loaded under the spool lock; save what you change."""

    __slots__ = ("damaged", "records", "spool", "state")

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.records, self.damaged = read_records(spool.path)
        self.state = read_state(spool.state_path)

    def save_records(self) -> None:
        """Replace the log by `records` (damaged lines go, counted as dropped by the caller)."""
        if self.records:
            atomic_write(self.spool.path, b"".join(record.line for record in self.records))
        else:
            try:  # noqa: SIM105 - contextlib would cost the host CLI an import
                os.unlink(self.spool.path)
            except FileNotFoundError:
                pass
        self.damaged = 0

    def save_state(self) -> None:
        """Write `state` atomically."""
        write_state(self.spool.state_path, self.state)


def remove_stale_temporaries(spool: Spool) -> None:
    """Delete what writers killed inside `atomic_write` left: `<file>.<pid>.tmp` of the log,
    the state and the record of sent events (spool lock held).

    Every writer of those three files holds the spool lock, so while we hold it, none of their
    temporary files belongs to a live writer. (config.json's belong to the config's lock.)
    """
    names = {os.path.basename(path) for path in (spool.path, spool.state_path, spool.sent_path)}
    try:
        entries = os.listdir(spool.directory)
    except OSError:
        return
    for entry in entries:
        if not entry.endswith(".tmp"):
            continue
        stem, _, pid = entry[: -len(".tmp")].rpartition(".")
        if stem in names and pid.isdigit():
            try:  # noqa: SIM105 - contextlib would cost a CLI run that trims an import
                os.unlink(os.path.join(spool.directory, entry))
            except OSError:  # gone meanwhile, or not ours to delete: harmless either way
                pass


class LockedSpool:
    """The spool lock held, and the log and state loaded: `with spool.locked() as tx:`."""

    __slots__ = ("_lock", "spool")

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._lock = file_lock(spool.lock_path)

    def __enter__(self) -> SpoolTransaction:
        self._lock.__enter__()
        try:
            remove_stale_temporaries(self.spool)
            return SpoolTransaction(self.spool)
        except BaseException:
            self._lock.__exit__()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self._lock.__exit__()


def trim_with(spool: Spool, line: bytes) -> None:
    """Keep the newest records (the new one included) within the trim target."""
    tx = SpoolTransaction(spool)
    new, _ = decode_records(line)
    candidates = tx.records + new
    kept: list[Record] = []
    size = 0
    for record in reversed(candidates):
        if len(kept) >= TRIM_TO_EVENTS or size + len(record.line) > TRIM_TO_BYTES:
            break
        kept.append(record)
        size += len(record.line)
    kept.reverse()
    dropped = len(candidates) - len(kept) + tx.damaged
    tx.records = kept
    tx.save_records()
    tx.state["dropped"] = as_int(tx.state["dropped"]) + dropped
    tx.save_state()


def purge(spool: Spool) -> None:
    """Delete every queued event and the record of sent ones (`telemetry disable`).

    The counters are kept. The logs are unlinked, never read: whatever they have become
    (huge, a FIFO, a link), they go, and a link's target is left alone.
    """
    logs = (spool.path, spool.sent_path)
    if not any(os.path.lexists(path) for path in (*logs, spool.state_path)):
        return  # nothing to purge, and no reason to create the directory
    with file_lock(spool.lock_path):
        for path in logs:
            try:  # noqa: SIM105 - contextlib would cost the host CLI an import
                os.unlink(path)
            except FileNotFoundError:
                pass
        if os.path.exists(spool.state_path):
            state = read_state(spool.state_path)
            state["inflight"] = None
            write_state(spool.state_path, state)


def stats(spool: Spool) -> dict[str, object]:
    """Counters for `telemetry status`: queued, dropped, rejected, last success, next try.

    Reads without the lock (renames are atomic), so a status never waits for a sender.
    """
    records, _ = read_records(spool.path)
    state = read_state(spool.state_path)
    last = as_time(state["last_success_at"])
    retry = as_time(state["next_attempt_at"])
    failed = as_time(state["last_failure_at"])
    failure = state["last_failure"]
    waiting = retry is not None and backoff_pending(state, time.time())
    return {
        "queued": len(records),
        "dropped": as_int(state["dropped"]),
        "rejected": as_int(state["rejected"]),
        "last_success_at": _utc_iso(last) if last is not None else None,
        "next_attempt_at": _utc_iso(retry) if retry is not None and waiting else None,
        "last_failure": failure if isinstance(failure, str) else None,
        "last_failure_at": _utc_iso(failed) if failed is not None else None,
    }
