"""Opted out means inert, proven at the process level with an audit hook in the CLI process.

A `sitecustomize.py` on PYTHONPATH (tests/support/audit/) logs every socket, name lookup,
process start, write-mode open, mkdir, rename and removal the CLI's interpreter performs. An
opted-out run must log none of them and leave HOME exactly as it was, even with events queued
that would otherwise start a sender. The control run, with telemetry on, shows the audit
does see the spool write and the sender's start.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from tests.client.harness import (
    audit_env,
    audit_events,
    files_under,
    platform_dir,
    run_cli,
    spooled_events,
    wait_for_sender,
)
from tests.support.sink import Sink

if TYPE_CHECKING:
    from pathlib import Path

    from tests.client.harness import Cli

OFF_SWITCHES = [
    {"DO_NOT_TRACK": "1"},
    {"DO_NOT_TRACK": "true"},
    {"YOUR_PLATFORM_TELEMETRY_OPT_OUT": "1"},
    {"YOUR_PLATFORM_TELEMETRY_OPT_OUT": "TRUE"},
    {"YOUR_PLATFORM_TELEMETRY_OPT_OUT": "yes"},
    {"YOUR_PLATFORM_TELEMETRY_OPT_OUT": "on"},
]
SPAWNS = ("os.posix_spawn", "subprocess.Popen", "os.fork", "os.exec", "os.system", "os.spawn")


def snapshot(home: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under HOME with its size, modification time and content."""
    result = {}
    for name in files_under(home):
        path = home / name
        if path.is_file():
            info = path.stat()
            result[name] = (info.st_size, info.st_mtime_ns, path.read_bytes())
    return result


def queue_events(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """Bring HOME past its first run with events queued and no backoff pending."""
    run_cli(cli.ok_argv, env, cli=cli.kind)  # the notice run
    for _ in range(2):
        run_cli(cli.ok_argv, env, cli=cli.kind)
    wait_for_sender(home)
    assert len(spooled_events(home)) == 2
    # Forget the failed attempt's backoff, so a run with telemetry on would start a sender.
    (platform_dir(home) / "telemetry-state.json").unlink()


@pytest.mark.parametrize("switch", OFF_SWITCHES, ids=lambda switch: "=".join(*switch.items()))
def test_opted_out_fresh_run_touches_nothing(
    cli: Cli, home: Path, env: dict[str, str], tmp_path: Path, switch: dict[str, str]
) -> None:
    """On a fresh HOME, an opted-out run opens no socket, starts nothing, writes nothing."""
    log = tmp_path / "audit.log"
    result = run_cli(cli.ok_argv, audit_env({**env, **switch}, log), cli=cli.kind)
    assert result.returncode == 0, result.stderr
    assert audit_events(log) == []
    assert files_under(home) == []


@pytest.mark.parametrize("switch", OFF_SWITCHES[::2], ids=lambda switch: "=".join(*switch.items()))
def test_opted_out_run_with_queued_events_stays_inert(
    cli: Cli, home: Path, env: dict[str, str], tmp_path: Path, switch: dict[str, str]
) -> None:
    """With events queued, an opted-out run still starts no sender and changes no file."""
    queue_events(cli, home, env)
    before = snapshot(home)
    log = tmp_path / "audit.log"
    result = run_cli(cli.ok_argv, audit_env({**env, **switch}, log), cli=cli.kind)
    assert result.returncode == 0, result.stderr
    assert audit_events(log) == []
    assert snapshot(home) == before


def test_opted_out_runs_leave_the_sent_record_alone(
    cli: Cli, home: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """With events sent (the record `telemetry show` reads) and queued, an opted-out run, and
    `telemetry show` itself, write nothing: the record is the sender's alone."""
    with Sink() as sink:
        delivered = {**env, "YOUR_PLATFORM_TELEMETRY_ENDPOINT": sink.url}
        for _ in range(3):  # the notice run, then two events sent
            run_cli(cli.ok_argv, delivered, cli=cli.kind)
            wait_for_sender(home)
    sent = platform_dir(home) / "telemetry-sent.jsonl"
    assert len(sent.read_text().splitlines()) == 2
    run_cli(cli.ok_argv, env, cli=cli.kind)  # one more, queued: the env's endpoint is closed
    wait_for_sender(home)
    (platform_dir(home) / "telemetry-state.json").unlink()  # no backoff: a sender would start
    before = snapshot(home)
    for switch in OFF_SWITCHES:
        log = tmp_path / f"audit-{len(switch)}-{next(iter(switch.values()))}.log"
        result = run_cli(cli.ok_argv, audit_env({**env, **switch}, log), cli=cli.kind)
        assert result.returncode == 0, result.stderr
        assert audit_events(log) == []
    log = tmp_path / "audit-show.log"
    shown = run_cli(["telemetry", "show", "--json"], audit_env(env, log), cli=cli.kind)
    assert shown.returncode == 0, shown.stderr
    assert audit_events(log) == []  # reading only: no write, socket or process
    answer = json.loads(shown.stdout)
    assert (answer["sent"], answer["queued"]) == (2, 1)
    assert snapshot(home) == before


def test_control_run_is_seen_by_the_audit(
    cli: Cli, home: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """With telemetry on, the same run's spool write and sender start are in the audit log."""
    queue_events(cli, home, env)
    log = tmp_path / "audit.log"
    result = run_cli(cli.ok_argv, audit_env(env, log), cli=cli.kind)
    assert result.returncode == 0, result.stderr
    events = audit_events(log)
    spool = str(platform_dir(home) / "telemetry-spool.log")
    assert ("open", repr(spool)) in events
    assert any(event in SPAWNS for event, _ in events)
    assert os.path.exists(spool)
