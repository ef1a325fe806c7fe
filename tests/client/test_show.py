"""`your-cli telemetry show` against a real `candor serve`: what it lists is what was stored.

The record of sent events is kept by the detached sender when the collector acknowledges a
batch; queued events are read from the spool. After `disable` nothing of it is left.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from candor.schema import FIELD_NAMES
from tests.client.harness import YOUR, cli_env, platform_dir, run_cli, wait_for_sender
from tests.support.collector import start_collector

if TYPE_CHECKING:
    from pathlib import Path

RUNS = [["info"], ["db", "migrate"], ["build"], ["info"]]  # build fails: no manifest
SENT_FILE = "telemetry-sent.jsonl"


def show(env: dict[str, str], *extra: str) -> dict[str, object]:
    """`your-cli telemetry show --json [extra]`, parsed."""
    result = run_cli(["telemetry", "show", "--json", *extra], env, cli=YOUR.kind)
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def iso(value: object) -> datetime:
    assert isinstance(value, str)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_show_lists_what_the_collector_stored_then_what_waits(seeded: Path, tmp_path: Path) -> None:
    """Sent events are exactly the stored ones, acknowledged after they were received; while
    the collector is down new events show as queued; `disable` deletes the record."""
    collector = start_collector(tmp_path)
    try:
        env = cli_env(seeded, YOUR_PLATFORM_TELEMETRY_ENDPOINT=collector.event_url)
        for argv in RUNS:
            run_cli(argv, env, cli=YOUR.kind, cwd=tmp_path)
            wait_for_sender(seeded)  # each run's sender delivers before the next run
        shown = show(env)
    finally:
        collector.stop()
    assert (shown["sent"], shown["queued"]) == (len(RUNS), 0)
    events = shown["events"]
    assert isinstance(events, list)
    assert [entry["event"]["command"] for entry in events] == [
        " ".join(argv) for argv in reversed(RUNS)
    ]  # newest first
    rows = collector.store_rows(
        f"SELECT {', '.join(FIELD_NAMES)}, received_at FROM events ORDER BY received_at"
    )
    stored = [dict(zip(FIELD_NAMES, row, strict=False)) for row in rows]
    for event in stored:
        event["installation_id"] = str(event["installation_id"])
    assert sorted(json.dumps(entry["event"], sort_keys=True) for entry in events) == sorted(
        json.dumps(event, sort_keys=True, default=str) for event in stored
    )
    received = [row[-1].replace(tzinfo=UTC) for row in rows]
    for entry, received_at in zip(reversed(events), received, strict=True):
        assert entry["state"] == "sent"
        assert iso(entry["recorded_at"]) <= iso(entry["acknowledged_at"])
        assert received_at.replace(microsecond=0) <= iso(entry["acknowledged_at"])

    # The collector is down: new runs wait in the spool and show as queued, newest first.
    for _ in range(2):
        run_cli(["info"], env, cli=YOUR.kind)
    wait_for_sender(seeded)
    down = show(env)
    assert (down["sent"], down["queued"]) == (len(RUNS), 2)
    listed = down["events"]
    assert isinstance(listed, list)
    assert [entry["state"] for entry in listed[:2]] == ["queued", "queued"]
    assert [entry["acknowledged_at"] for entry in listed[:2]] == [None, None]
    assert iso(listed[0]["recorded_at"]) >= iso(listed[2]["recorded_at"])
    assert show(env, "--limit", "3")["events"] == listed[:3]
    text = run_cli(["telemetry", "show"], env, cli=YOUR.kind).stdout
    assert text.count("queued, not sent yet") == 2
    assert text.count("sent, acknowledged ") == len(RUNS)

    # `telemetry status` lists the record among its files; `disable` deletes it.
    status = json.loads(run_cli(["telemetry", "status", "--json"], env, cli=YOUR.kind).stdout)
    assert str(platform_dir(seeded) / SENT_FILE) in status["files"]
    assert run_cli(["telemetry", "disable"], env, cli=YOUR.kind).returncode == 0
    assert not (platform_dir(seeded) / SENT_FILE).exists()
    assert show(env) == {"sent": 0, "queued": 0, "events": []}
