"""What this machine has sent: the local record `telemetry show` reads, and the sender keeps.

`telemetry-sent.jsonl`, beside the spool, holds one JSON object a line::

    {"id": "<spool record id>", "recorded_at": <epoch s or null>,
     "acknowledged_at": <epoch s>, "event": {<the nine fields, as sent>}}

Only the sender writes it, under the spool lock, when the collector acknowledges a batch: the
CLI's own path never touches it, so keeping it costs a command nothing. An event goes in
before it leaves the spool, so that a reader that reads the spool first, then this file, sees
every event at least once (`show` keeps the acknowledged copy). It holds the last
MAX_SENT_EVENTS sent events, none older than MAX_SENT_AGE_S, is deleted with the spool by
`telemetry disable`, and is never written while telemetry is off (the sender only runs on).

Not on the recording path: this module may use json.
"""

from __future__ import annotations

import json
import time

from candor.client.files import atomic_write, read_tail
from candor.client.spool_rewrite import read_records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from candor.client.spool import Record, Spool

MAX_SENT_EVENTS = 100  # issue #12: the last 100 sent events ...
MAX_SENT_AGE_S = 30 * 24 * 3600  # ... or 30 days, whichever is smaller
# 100 entries of ~400 bytes: a file far larger is damage, and only its tail is read.
MAX_SENT_BYTES = 256 * 1024

STATE_SENT = "sent"
STATE_QUEUED = "queued"


def read_sent(path: str, now: float) -> list[dict[str, object]]:
    """The kept entries of the record, oldest first; damaged lines and expired entries skipped."""
    try:
        data, _ = read_tail(path, MAX_SENT_BYTES)
    except FileNotFoundError:
        return []
    entries = []
    for line in data.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if _valid(entry) and entry["acknowledged_at"] >= now - MAX_SENT_AGE_S:
            entries.append(entry)
    return entries[-MAX_SENT_EVENTS:]


def _valid(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("id"), str)
        and isinstance(entry.get("acknowledged_at"), int | float)
        and isinstance(entry.get("event"), dict)
    )


def add_sent(spool: Spool, records: list[Record], acknowledged_at: float) -> None:
    """Append acknowledged `records` to the record, trimmed to its bounds (spool lock held)."""
    try:
        entries = read_sent(spool.sent_path, acknowledged_at)
    except OSError:  # not a regular file (or unreadable): replaced by a fresh record
        entries = []
    for record in records:
        entries.append(
            {
                "id": record.rid,
                "recorded_at": record.recorded_at,
                "acknowledged_at": round(acknowledged_at, 3),
                "event": json.loads(record.payload),
            }
        )
    text = "".join(
        json.dumps(entry, separators=(",", ":")) + "\n" for entry in entries[-MAX_SENT_EVENTS:]
    )
    atomic_write(spool.sent_path, text.encode("utf-8"))


def utc_iso(timestamp: object) -> str | None:
    """ISO 8601 UTC (seconds) of an epoch time, None for anything else."""
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def shown_events(spool: Spool, limit: int | None = None) -> list[dict[str, object]]:
    """Sent and queued events, newest first: what `telemetry show` lists.

    Each: {"state": "sent" | "queued", "recorded_at": ISO or None, "acknowledged_at": ISO or
    None, "event": {...}}. Reads without a lock: the spool first, then the record (see the
    module's docstring), so an event being acknowledged meanwhile shows once.
    """
    records, _ = read_records(spool.path)
    sent = read_sent(spool.sent_path, time.time())
    acknowledged = {entry["id"] for entry in sent}
    rows: list[tuple[float, dict[str, object]]] = []
    for entry in sent:
        recorded = entry.get("recorded_at")
        rows.append(
            (
                _sort_time(recorded, entry["acknowledged_at"]),
                _row(STATE_SENT, recorded, entry["acknowledged_at"], entry["event"]),
            )
        )
    for record in records:
        if record.rid in acknowledged:
            continue
        try:
            event = json.loads(record.payload)
        except ValueError:
            continue  # the sender drops it as unsendable
        rows.append(
            (
                _sort_time(record.recorded_at, None),
                _row(STATE_QUEUED, record.recorded_at, None, event),
            )
        )
    # Newest first; within one second, the later line first (both files are in order).
    order = sorted(range(len(rows)), key=lambda index: (rows[index][0], index), reverse=True)
    shown = [rows[index][1] for index in order]
    return shown if limit is None else shown[:limit]


def _sort_time(recorded: object, acknowledged: object) -> float:
    for value in (recorded, acknowledged):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0


def _row(state: str, recorded: object, acknowledged: object, event: object) -> dict[str, object]:
    return {
        "state": state,
        "recorded_at": utc_iso(recorded),
        "acknowledged_at": utc_iso(acknowledged),
        "event": event,
    }
