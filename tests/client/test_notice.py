"""The first-run notice: once, on stderr, no question asked, and that run sends nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.client.harness import (
    RUN_TIMEOUT_S,
    TINY_CLI,
    platform_dir,
    read_config,
    run_cli,
    spooled_events,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.client.harness import Cli

POLICY_URL = "https://your-platform.com/telemetry"


def notice_lines(cli: Cli) -> list[str]:
    """What any notice must contain: policy, both ways to opt out, DO_NOT_TRACK, the fields."""
    return [
        POLICY_URL,
        f"{cli.name} telemetry disable",
        "YOUR_PLATFORM_TELEMETRY_OPT_OUT=1",
        "DO_NOT_TRACK",
        "installation_id",
        "command",
        "duration_ms",
        "error_code",
    ]


def test_first_run_shows_the_notice_once_and_sends_nothing(
    cli: Cli, home: Path, env: dict[str, str]
) -> None:
    """Run 1: notice on stderr, normal stdout/exit, ID saved, nothing spooled; run 2: an event."""
    quiet = run_cli(cli.ok_argv, {**env, "YOUR_PLATFORM_TELEMETRY_OPT_OUT": "1"}, cli=cli.kind)
    first = run_cli(cli.ok_argv, env, cli=cli.kind)
    assert first.returncode == quiet.returncode == 0
    assert first.stdout == quiet.stdout  # stdout is the CLI's alone
    flat = " ".join(first.stderr.split())
    for text in notice_lines(cli):
        assert text in flat
    config = read_config(home)
    assert config["telemetry"] == {"notice_shown": True}
    assert spooled_events(home) == []

    second = run_cli(cli.ok_argv, env, cli=cli.kind)
    assert second.returncode == 0
    assert second.stdout == quiet.stdout
    assert second.stderr == quiet.stderr  # no notice again
    events = spooled_events(home)
    assert [event["command"] for event in events] == [cli.ok_command]
    assert events[0]["installation_id"] == config["installation_id"]


def test_notice_asks_nothing_on_a_terminal(home: Path, env: dict[str, str]) -> None:
    """On a real terminal the first run ends without any input; the notice still goes to stderr."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, str(TINY_CLI), "ok"],
            env=env,
            stdin=slave,  # a terminal nobody types into: a prompt would wait forever
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        os.close(slave)
        os.close(master)
    assert process.returncode == 0
    assert json.loads(stdout) == {"result": "ok", "command": "ok"}
    assert "tiny-cli telemetry disable" in stderr


@pytest.mark.parametrize(
    "variables",
    [{"DO_NOT_TRACK": "1"}, {"YOUR_PLATFORM_TELEMETRY_OPT_OUT": "yes"}],
    ids=["do-not-track", "opt-out"],
)
def test_no_notice_when_off_by_the_environment(
    cli: Cli, home: Path, env: dict[str, str], variables: dict[str, str]
) -> None:
    """Off by the environment: no notice, no directory, and a later normal run still shows it."""
    result = run_cli(cli.ok_argv, {**env, **variables}, cli=cli.kind)
    assert result.returncode == 0
    assert "telemetry" not in result.stderr
    assert not platform_dir(home).exists()
    later = run_cli(cli.ok_argv, env, cli=cli.kind)
    assert f"{cli.name} telemetry disable" in later.stderr


@pytest.mark.parametrize("action", ["status", "enable", "disable"])
def test_telemetry_commands_show_no_notice_and_record_nothing(
    cli: Cli, home: Path, env: dict[str, str], action: str
) -> None:
    """`telemetry status|enable|disable` as the very first command: no notice, no event."""
    result = run_cli(["telemetry", action], env, cli=cli.kind)
    assert result.returncode == 0, result.stderr
    assert "collects anonymous usage telemetry" not in result.stderr + result.stdout
    assert spooled_events(home) == []
    if action == "status":
        assert not platform_dir(home).exists()  # status only reads


def test_disable_before_first_run_means_no_notice_ever(
    cli: Cli, home: Path, env: dict[str, str]
) -> None:
    """After `telemetry disable`, runs show no notice and record nothing."""
    run_cli(["telemetry", "disable"], env, cli=cli.kind)
    for _ in range(2):
        result = run_cli(cli.ok_argv, env, cli=cli.kind)
        assert result.returncode == 0
        assert "telemetry" not in result.stderr
    assert spooled_events(home) == []
    assert "installation_id" not in read_config(home)
