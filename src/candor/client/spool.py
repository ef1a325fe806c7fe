"""The bounded on-disk spool where recorded events wait for the detached sender.

Recording an event costs the CLI one locked `O_APPEND` write of one line; nothing here opens a
socket. The log `telemetry-spool.log` holds one record per line::

    <checksum of the rest, 8 hex> <record id, 16 hex> <recorded at, epoch s> <event JSON>\\n

(Lines written before the recording time was kept have no third field; they still decode.)
The time is for `telemetry show` alone: it is never sent, the event is sent as it is.

The checksum (32 bits, see `checksum`; lines of earlier releases carry FNV-1a) finds a line
torn by a crash or a full disk (it is skipped and counted as dropped at the next rewrite); the
random record id lets the sender remove exactly the records the collector acknowledged even
if CLIs appended or trimmed meanwhile. Every change other than an append (trim,
acknowledgement, purge) rewrites the whole log with `atomic_write`, so a kill at any point
leaves the old log or the new one. All writes, to the log and to `telemetry-state.json`
(counters, backoff, in-flight batch), happen under `telemetry-spool.lock`.

The append is not fsynced, on purpose: a power cut may then lose the newest records or tear
the last line, which the checksum finds and the next append starts after (a fresh line), so
the log stays readable; an fsync on every CLI run would cost the user milliseconds on many
disks to protect a few telemetry events. The rewrites are fsynced (`atomic_write`): a rename
of a file whose data never reached the disk could replace every queued record with nothing.

Beyond `MAX_SPOOL_EVENTS` or `MAX_SPOOL_BYTES` the oldest events are dropped and counted in the
state file; that count is shown by `telemetry status` and never sent anywhere.

What a CLI run needs (the append, the checks before starting a sender) is in
`candor.client.recording`, the one module a recording run loads; reading the log back and
rewriting it (the sender's transactions, a trim, purge, stats) is in
`candor.client.spool_rewrite`. `Spool` gathers all of it for the sender, status and tests.
"""

from __future__ import annotations

import os

# The append and the checks a CLI run makes live in candor.client.recording, with the names
# they use; they are this module's names too.
from candor.client.recording import MAX_PLAUSIBLE_WAIT_S as MAX_PLAUSIBLE_WAIT_S
from candor.client.recording import MAX_SPOOL_BYTES as MAX_SPOOL_BYTES
from candor.client.recording import MAX_SPOOL_EVENTS as MAX_SPOOL_EVENTS
from candor.client.recording import MAX_STATE_BYTES as MAX_STATE_BYTES
from candor.client.recording import MIN_RECORD_BYTES as MIN_RECORD_BYTES
from candor.client.recording import RECORD_ID_BYTES as RECORD_ID_BYTES
from candor.client.recording import SENDER_LOCK_FILE as SENDER_LOCK_FILE
from candor.client.recording import SENT_FILE as SENT_FILE
from candor.client.recording import SPOOL_FILE as SPOOL_FILE
from candor.client.recording import SPOOL_LOCK_FILE as SPOOL_LOCK_FILE
from candor.client.recording import STATE_FILE as STATE_FILE
from candor.client.recording import append_record, fnv1a
from candor.client.recording import as_int as as_int
from candor.client.recording import as_time as as_time
from candor.client.recording import backoff_pending as backoff_pending
from candor.client.recording import checksum as checksum
from candor.client.recording import default_state as default_state
from candor.client.recording import delivery_due as _delivery_due
from candor.client.recording import encode_record as encode_record
from candor.client.recording import read_state as read_state
from candor.client.recording import sender_wanted as _sender_wanted

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from candor.client.spool_rewrite import LockedSpool

# Once full, trim to 90 %: a CLI run during a long outage then rewrites the log once every
# hundred runs instead of on every run (a rewrite costs a read, a write and two fsyncs).
TRIM_TO_EVENTS = 900
TRIM_TO_BYTES = 900 * 1024
_HEADER_BYTES = 8 + 1 + 2 * RECORD_ID_BYTES + 1  # "checksum id " before the JSON


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


def _intact(value: int, body: bytes) -> bool:
    # Lines of earlier releases carry FNV-1a, computed only when the current checksum differs.
    return value == checksum(body) or value == fnv1a(body)


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
                and _intact(int(line[:8], 16), body)
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
        append_record(self.directory, encode_record(event))

    def delivery_due(self, now: float) -> bool:
        """Events wait and no persisted backoff forbids an attempt: one stat, a small read."""
        return _delivery_due(self.directory, now)

    def sender_wanted(self) -> bool:
        """`delivery_due` and no sender runs (its lock is free): when a CLI should start one."""
        return _sender_wanted(self.directory)

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
