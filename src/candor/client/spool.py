"""The bounded on-disk spool where recorded events wait for the detached sender.

Recording an event costs the CLI one locked `O_APPEND` write of one line; nothing here opens a
socket. The log `telemetry-spool.log` holds one record per line::

    <checksum of the rest, 8 hex> <record id, 16 hex> <recorded at, epoch s> <event JSON>\\n

(Lines written before the recording time was kept have no third field; they still decode.)
The time is for `telemetry show` alone: it is never sent, the event is sent as it is.

The checksum (32-bit FNV-1a, see `checksum`) finds a line torn by a crash or a full disk (it
is skipped and counted as dropped at the next rewrite); the random record id lets the sender
remove exactly the records the collector acknowledged even if CLIs appended or trimmed
meanwhile. Every change other than an append (trim, acknowledgement, purge) rewrites the whole
log with `atomic_write`, so a kill at any point leaves the old log or the new one. All writes,
to the log and to `telemetry-state.json` (counters, backoff, in-flight batch), happen under
`telemetry-spool.lock`.

The append is not fsynced, on purpose: a power cut may then lose the newest records or tear
the last line, which the checksum finds and the next append starts after (a fresh line), so
the log stays readable; an fsync on every CLI run would cost the user milliseconds on many
disks to protect a few telemetry events. The rewrites are fsynced (`atomic_write`): a rename
of a file whose data never reached the disk could replace every queued record with nothing.

Beyond `MAX_SPOOL_EVENTS` or `MAX_SPOOL_BYTES` the oldest events are dropped and counted in the
state file; that count is shown by `telemetry status` and never sent anywhere.

What a CLI run needs (the append, the checks before starting a sender) is here; reading the
log back and rewriting it (the sender's transactions, a trim, purge, stats) is in
`candor.client.spool_rewrite`, which a run that only appends never loads.
"""

from __future__ import annotations

import os
import time

from candor.client._fs import (
    compact_json,
    ensure_private_dir,
    file_lock,
    open_regular,
    parse_json,
    read_small,
)

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from candor.client.spool_rewrite import LockedSpool

SPOOL_FILE = "telemetry-spool.log"
SPOOL_LOCK_FILE = "telemetry-spool.lock"
STATE_FILE = "telemetry-state.json"
SENDER_LOCK_FILE = "telemetry-sender.lock"  # held by the one running sender (see launcher.py)
SENT_FILE = "telemetry-sent.jsonl"  # what was sent, for `telemetry show` (see history.py)

# The bound: a spool that waits through a long outage must not grow without limit.
MAX_SPOOL_EVENTS = 1000
MAX_SPOOL_BYTES = 1024 * 1024
# Once full, trim to 90 %: a CLI run during a long outage then rewrites the log once every
# hundred runs instead of on every run (a rewrite costs a read, a write and two fsyncs).
TRIM_TO_EVENTS = 900
TRIM_TO_BYTES = 900 * 1024
# No record is shorter (the nine key names alone take 94 characters): below
# MAX_SPOOL_EVENTS * MIN_RECORD_BYTES bytes the log cannot hold too many records, so the CLI
# need not count them.
MIN_RECORD_BYTES = 200
RECORD_ID_BYTES = 8
# The state file holds counters, times and the in-flight batch's record ids (17 bytes each, at
# most MAX_BATCH_EVENTS of them): a few KiB. Anything far larger is damage, read as defaults.
MAX_STATE_BYTES = 256 * 1024
_HEADER_BYTES = 8 + 1 + 2 * RECORD_ID_BYTES + 1  # "checksum id " before the JSON


# A persisted retry time further ahead than this comes from a clock set backwards (or a
# damaged file): ignore it rather than stop delivery for days. The longest legitimate wait is
# a collector's Retry-After, which the sender caps at a day.
MAX_PLAUSIBLE_WAIT_S = 24 * 3600 + 60


class Record:
    """One spooled event: its id, when it was recorded, its JSON text and the exact line."""

    __slots__ = ("line", "payload", "recorded_at", "rid")

    def __init__(
        self, rid: str, payload: bytes, line: bytes, recorded_at: int | None = None
    ) -> None:
        self.rid = rid
        self.payload = payload  # the event's compact JSON, sent as is
        self.line = line  # with the checksum and the newline
        self.recorded_at = recorded_at  # epoch seconds; None in lines of older releases

    def __repr__(self) -> str:
        return f"Record({self.rid!r})"


def checksum(data: bytes) -> int:
    """32-bit FNV-1a of `data`: finds torn and garbled lines.

    Not zlib/binascii.crc32: loading either extension module costs a CLI run about 0.25 ms,
    this loop about 0.02 ms for an event's 250 bytes (the sender checks many lines, but runs
    detached). Integrity only: nothing here defends against a deliberate forger.
    """
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def encode_record(event: dict[str, object], recorded_at: float | None = None) -> bytes:
    """Serialise `event` as one checksummed spool line with a fresh random id and the time."""
    now = int(time.time() if recorded_at is None else recorded_at)
    # compact_json: json.dumps's exact text, ASCII only (non-ASCII is escaped).
    body = f"{os.urandom(RECORD_ID_BYTES).hex()} {now} {compact_json(event)}".encode("ascii")
    return b"%08x %s\n" % (checksum(body), body)


def decode_records(data: bytes) -> tuple[list[Record], int]:
    """The intact records of a log's bytes, in order, and how many lines were damaged."""
    records: list[Record] = []
    damaged = 0
    for line in data.split(b"\n"):
        if not line:
            continue
        body = line[9:]
        try:
            ok = (
                len(line) > _HEADER_BYTES
                and line[8:9] == b" "
                and body[2 * RECORD_ID_BYTES : 2 * RECORD_ID_BYTES + 1] == b" "
                and int(line[:8], 16) == checksum(body)
            )
        except ValueError:  # the checksum field is not hex
            ok = False
        if ok:
            rid = body[: 2 * RECORD_ID_BYTES].decode("ascii", "replace")
            rest = body[2 * RECORD_ID_BYTES + 1 :]
            recorded_at = None
            if rest[:1].isdigit():  # the recording time, then the event
                stamp, _, rest = rest.partition(b" ")
                recorded_at = int(stamp) if stamp.isdigit() else None
            records.append(Record(rid, rest, line + b"\n", recorded_at))
        else:
            damaged += 1
    return records, damaged


def default_state() -> dict[str, object]:
    """The state of a spool that never sent, dropped or failed anything."""
    return {
        "dropped": 0,  # events lost locally: spool full, damaged line, unsendable event
        "rejected": 0,  # events the collector refused for good (a 4xx, or rejected in a 202)
        "failures": 0,  # consecutive failed attempts, the exponent of the backoff
        "next_attempt_at": None,  # epoch seconds before which no sender may post
        "last_success_at": None,  # epoch seconds of the last acknowledged batch
        # Why the latest attempt failed ("connection refused", "HTTP 503") and when (epoch
        # seconds); both cleared by the next acknowledged batch. Shown by `telemetry status`.
        "last_failure": None,
        "last_failure_at": None,
        # {"key": Idempotency-Key, "ids": "id,id,..."} of the batch posted last; one string,
        # not a list, because every CLI run that finds the spool non-empty parses this file.
        "inflight": None,
    }


def read_state(path: str) -> dict[str, object]:
    """The state file's content over the defaults; a missing or damaged file gives defaults."""
    state = default_state()
    try:
        loaded = parse_json(read_small(path, MAX_STATE_BYTES))
    except (OSError, ValueError):  # a larger file is cut short, so it is not JSON either
        return state
    if isinstance(loaded, dict):
        for key, default in state.items():
            value = loaded.get(key, default)
            # Keep only values of the expected kind, so a hand-edited file cannot crash a run.
            if default is None or isinstance(value, type(default)):
                state[key] = value
    return state


def as_int(value: object) -> int:
    """A counter from the state file, 0 when it is not a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_time(value: object) -> float | None:
    """An epoch timestamp from the state file, None when it is not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def backoff_pending(state: dict[str, object], now: float) -> bool:
    """True while the state's persisted backoff forbids a new delivery attempt."""
    retry = as_time(state["next_attempt_at"])
    return retry is not None and now < retry <= now + MAX_PLAUSIBLE_WAIT_S


class Spool:
    """The spool of one platform's config directory, e.g. `Spool("/home/u/.your-platform")`."""

    __slots__ = ("directory", "lock_path", "path", "sender_lock_path", "sent_path", "state_path")

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, SPOOL_FILE)
        self.lock_path = os.path.join(directory, SPOOL_LOCK_FILE)
        self.state_path = os.path.join(directory, STATE_FILE)
        self.sender_lock_path = os.path.join(directory, SENDER_LOCK_FILE)
        self.sent_path = os.path.join(directory, SENT_FILE)

    def append(self, event: dict[str, object]) -> None:
        """Queue one event for the sender: a single append, or a trim when the spool is full.

        Creates the directory if needed. Raises OSError (full disk, read-only HOME); the
        caller, `Telemetry`, swallows it.
        """
        line = encode_record(event)
        lock = file_lock(self.lock_path)
        try:
            lock.__enter__()
        except FileNotFoundError:  # first event of this HOME: the directory is made lazily
            ensure_private_dir(self.directory)
            lock.__enter__()
        try:
            # Opened under the lock: a sender's rewrite replaces the file, and an append to
            # a descriptor opened before that rename would land in the discarded copy.
            fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
            try:
                size = os.fstat(fd).st_size
                if self._must_trim(fd, size, len(line)):
                    self._trim_with(line)
                    return
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a torn last line must not swallow this record
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        finally:
            lock.__exit__()

    def _must_trim(self, fd: int, size: int, extra: int) -> bool:
        if size + extra > MAX_SPOOL_BYTES:
            return True
        if size < MAX_SPOOL_EVENTS * MIN_RECORD_BYTES:
            return False
        return os.pread(fd, size, 0).count(b"\n") >= MAX_SPOOL_EVENTS

    def delivery_due(self, now: float) -> bool:
        """Events wait and no persisted backoff forbids an attempt: one stat, a small read."""
        try:
            if os.stat(self.path).st_size == 0:
                return False
        except FileNotFoundError:
            return False
        return not backoff_pending(read_state(self.state_path), now)

    def sender_wanted(self) -> bool:
        """`delivery_due` and no sender runs (its lock is free): when a CLI should start one.

        The CLI asks this before it loads the launcher, which checks again under the lock.
        """
        if not self.delivery_due(time.time()):
            return False
        with file_lock(self.sender_lock_path, blocking=False) as lock:
            return lock.acquired

    def _trim_with(self, line: bytes) -> None:
        from candor.client.spool_rewrite import trim_with  # a full spool only

        trim_with(self, line)

    def locked(self) -> LockedSpool:
        """`with spool.locked() as tx:` the log and the state under the spool lock."""
        from candor.client.spool_rewrite import LockedSpool

        return LockedSpool(self)

    def purge(self) -> None:
        """Delete every queued event and the record of sent ones (`telemetry disable`).

        The counters are kept. The logs are unlinked, never read: whatever they have become
        (huge, a FIFO, a link), they go, and a link's target is left alone.
        """
        from candor.client.spool_rewrite import purge

        purge(self)

    def stats(self) -> dict[str, object]:
        """Counters for `telemetry status`: queued, dropped, rejected, last success, next try.

        Reads without the lock (renames are atomic), so a status never waits for a sender.
        """
        from candor.client.spool_rewrite import stats

        return stats(self)

    def files(self) -> list[str]:
        """Every file delivery may create, for `telemetry status`."""
        return [self.path, self.lock_path, self.state_path, self.sender_lock_path, self.sent_path]
