"""`telemetry enable|disable|status|show` as one plain function, for any framework to expose.

    text, code = run(telemetry, "status", as_json=False)
    text, code = run(telemetry, "show", as_json=True, limit=10)

The integrations print `text` and exit with `code`: on 0 it is the answer for stdout, on any
other code a one-line error meant for stderr. These commands never record an event and never
show the first-run notice; only enable and disable write (the config, and disable's purge).
"""

from __future__ import annotations

import json

from candor.client.consent import (
    DO_NOT_TRACK,
    SOURCE_CONFIG,
    SOURCE_DEFAULT,
    SOURCE_NO_HOME,
    SOURCE_UNREADABLE,
)
from candor.client.errors import TelemetryError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from candor.client import Telemetry
    from candor.client.status import TelemetryStatus

ACTIONS = ("enable", "disable", "status", "show")
EXIT_OK = 0
EXIT_FAILED = 1  # the choice could not be saved
EXIT_USAGE = 2


def run(
    telemetry: Telemetry, action: str, as_json: bool = False, limit: int | None = None
) -> tuple[str, int]:
    """Carry out `action` and return the text to print and the exit status.

    `limit` (show only): list at most that many events, the newest.
    """
    if action not in ACTIONS:
        return (
            f"{telemetry.cli_name} telemetry: unknown command {action!r} ({', '.join(ACTIONS)})",
            EXIT_USAGE,
        )
    if action == "show":
        return show(telemetry, as_json, limit)
    if action == "status":
        status = telemetry.status()
        return (status_json(status) if as_json else status_text(telemetry, status)), EXIT_OK
    try:
        if action == "enable":
            telemetry.enable()
            purged = 0
        else:
            purged = telemetry.status().queued
            telemetry.disable()
    except (TelemetryError, OSError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        return f"{telemetry.cli_name} telemetry {action}: {reason}", EXIT_FAILED
    status = telemetry.status()
    if as_json:
        return status_json(status), EXIT_OK
    return change_text(telemetry, action, status, purged), EXIT_OK


def change_text(telemetry: Telemetry, action: str, status: TelemetryStatus, purged: int) -> str:
    """What `enable`/`disable` say once the choice is saved."""
    config_path = status.files[0]
    if action == "enable":
        lines = [f"Telemetry enabled for {telemetry.cli_name} (saved in {config_path})."]
    else:
        lines = [
            f"Telemetry disabled for {telemetry.cli_name}: nothing will be recorded or sent "
            f"(saved in {config_path})."
        ]
        if purged:
            lines.append(f"Deleted {purged} queued event{'s' * (purged != 1)} not yet sent.")
    if action == "enable" and status.source not in (SOURCE_CONFIG, SOURCE_DEFAULT):
        lines.append(f"It stays off while {status.source} is set in the environment.")
    lines.append(f"Policy: {telemetry.policy_url}")
    return "\n".join(lines)


def describe_source(telemetry: Telemetry, status: TelemetryStatus) -> str:
    """Why telemetry is on or off, in words."""
    name = telemetry.cli_name
    if status.source == DO_NOT_TRACK:
        return f"DO_NOT_TRACK={status.source_value} is set in the environment"
    if status.source == SOURCE_NO_HOME:
        return f"telemetry cannot work here: {status.problem}, so nothing can be saved or sent"
    if status.source == SOURCE_CONFIG:
        return f"`{name} telemetry {'enable' if status.enabled else 'disable'}` (saved in config)"
    if status.source == SOURCE_DEFAULT:
        return "the default; nothing has turned it off"
    if status.source == SOURCE_UNREADABLE:
        return f"the config cannot be read: {status.problem}"
    return f"{status.source}={status.source_value} is set for this execution"


def status_text(telemetry: Telemetry, status: TelemetryStatus) -> str:
    """The human answer of `telemetry status`."""
    name, prefix = telemetry.cli_name, telemetry.switches.prefix
    state = "on" if status.enabled else "off"
    endpoint = status.endpoint
    if status.endpoint_problem:
        endpoint += f" (refused, nothing is sent: {status.endpoint_problem})"
    rows = [
        ("Telemetry", f"{state} ({describe_source(telemetry, status)})"),
        ("Installation ID", status.installation_id or _no_id(status)),
        ("Endpoint", endpoint),
        (
            "Debug",
            f"on ({prefix}_TELEMETRY_DEBUG): events are printed, not sent"
            if status.debug
            else "off",
        ),
        ("Queued events", str(status.queued)),
        ("Dropped events", f"{status.dropped} (lost on this machine, never sent)"),
        ("Rejected events", f"{status.rejected} (refused by the collector)"),
        ("Last delivery", status.last_delivery or "never"),
    ]
    if status.last_failure:
        rows.append(
            ("Last failure", f"{status.last_failure_at or 'unknown time'}: {status.last_failure}")
        )
    if status.next_attempt:
        rows.append(("Next attempt", f"not before {status.next_attempt}"))
    if status.problem and status.source not in (SOURCE_UNREADABLE, SOURCE_NO_HOME):
        rows.append(("Problem", status.problem))
    rows += [
        ("Policy", telemetry.policy_url),
        (
            "Opt out",
            f"`{name} telemetry disable`, {prefix}_TELEMETRY_OPT_OUT=1 (one run), DO_NOT_TRACK=1",
        ),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label + ':':<{width}}{value}" for label, value in rows]
    lines.append("Files:")
    lines += [f"  {path}" for path in status.files]
    return "\n".join(lines)


def show(telemetry: Telemetry, as_json: bool, limit: int | None) -> tuple[str, int]:
    """`telemetry show`: the events this machine sent and those still queued, newest first."""
    from candor.client.history import (
        MAX_SENT_AGE_S,
        MAX_SENT_EVENTS,
        STATE_QUEUED,
        STATE_SENT,
        shown_events,
    )
    from candor.client.spool import Spool

    name = telemetry.cli_name
    if limit is not None and limit < 1:
        return f"{name} telemetry show: --limit must be at least 1, not {limit}", EXIT_USAGE
    spool = Spool(telemetry.directory)
    try:
        events = [] if telemetry.home_problem else shown_events(spool)
    except OSError as error:  # a FIFO or a link in place of a file, a permission, ...
        why = f"cannot read {error.filename}: {error.strerror}" if error.filename else error
        return f"{name} telemetry show: {why}", EXIT_FAILED
    sent = sum(1 for event in events if event["state"] == STATE_SENT)
    queued = sum(1 for event in events if event["state"] == STATE_QUEUED)
    listed = events if limit is None else events[:limit]
    if as_json:
        answer = {"sent": sent, "queued": queued, "events": listed}
        return json.dumps(answer, indent=2, sort_keys=True), EXIT_OK
    days = MAX_SENT_AGE_S // 86400
    lines = [
        f"{sent} event{'s' * (sent != 1)} sent and {queued} queued on this machine"
        + (f", the newest {len(listed)} shown" if len(listed) < len(events) else "")
        + ", newest first.",
        f"Sent events are kept in {spool.sent_path} (the last {MAX_SENT_EVENTS}, {days} days "
        "at most);",
        f"`{name} telemetry disable` deletes them.",
    ]
    for event in listed:
        if event["state"] == STATE_SENT:
            state = f"sent, acknowledged {event['acknowledged_at']}"
        else:
            state = "queued, not sent yet"
        lines.append("")
        lines.append(f"Recorded {event['recorded_at'] or 'at an unknown time'}; {state}")
        lines.append("  " + json.dumps(event["event"], separators=(",", ":")))
    return "\n".join(lines), EXIT_OK


def _no_id(status: TelemetryStatus) -> str:
    if status.source == SOURCE_NO_HOME:
        return "none (nothing can be saved here)"
    return "none yet (made by the first run)"


def status_json(status: TelemetryStatus) -> str:
    """`telemetry status --json`: every field of TelemetryStatus, keys sorted."""
    return json.dumps(status.as_dict(), indent=2, sort_keys=True)
