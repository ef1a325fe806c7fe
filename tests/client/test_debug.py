"""{P}_TELEMETRY_DEBUG prints the exact event on stderr and sends, spools and saves nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from candor.schema import FIELD_NAMES, validate_event
from tests.client.harness import (
    audit_env,
    audit_events,
    files_under,
    platform_dir,
    read_config,
    run_cli,
    spooled_events,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.client.harness import Cli

DEBUG = "YOUR_PLATFORM_TELEMETRY_DEBUG"


def printed_events(stderr: str) -> list[dict[str, object]]:
    """The JSON objects printed on their own line in `stderr`."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_debug_prints_the_event_and_sends_nothing(
    cli: Cli, seeded: Path, env: dict[str, str], tmp_path: Path, value: str
) -> None:
    """The printed JSON is the valid nine-field event; no spool, no process, no socket."""
    before = files_under(seeded)
    plain = run_cli(cli.ok_argv, {**env, "DO_NOT_TRACK": "1"}, cli=cli.kind)
    log = tmp_path / "audit.log"
    result = run_cli(cli.ok_argv, audit_env({**env, DEBUG: value}, log), cli=cli.kind)
    assert (result.returncode, result.stdout) == (plain.returncode, plain.stdout)
    (event,) = printed_events(result.stderr)
    assert tuple(event) == FIELD_NAMES
    assert validate_event(event) == []
    assert event["command"] == cli.ok_command
    assert event["installation_id"] == read_config(seeded)["installation_id"]
    assert "nothing sent" in result.stderr
    assert audit_events(log) == []
    assert files_under(seeded) == before
    assert spooled_events(seeded) == []


def test_debug_on_a_fresh_home_saves_nothing(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """Debug before the first run prints an event with a stand-in ID and creates no file."""
    result = run_cli(cli.ok_argv, {**env, DEBUG: "1"}, cli=cli.kind)
    assert result.returncode == 0
    (event,) = printed_events(result.stderr)
    assert validate_event(event) == []
    assert "stands in" in result.stderr
    assert files_under(home) == []


def test_debug_says_when_telemetry_is_off(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """With DO_NOT_TRACK, debug prints no event but names the variable that turned it off."""
    result = run_cli(cli.ok_argv, {**env, DEBUG: "1", "DO_NOT_TRACK": "1"}, cli=cli.kind)
    assert printed_events(result.stderr) == []
    assert "off by DO_NOT_TRACK" in result.stderr
    assert not platform_dir(home).exists()


def test_debug_shows_a_failure_code(seeded: Path, env: dict[str, str]) -> None:
    """A failing command's printed event carries status failure and its declared code."""
    result = run_cli(["manifest"], {**env, DEBUG: "1"})
    assert result.returncode == 1
    (event,) = printed_events(result.stderr)
    assert (event["status"], event["error_code"]) == ("failure", "invalid_manifest")


def test_debug_says_when_disabled_in_the_config(
    cli: Cli, seeded: Path, env: dict[str, str]
) -> None:
    """After `telemetry disable`, debug prints no event and says the config turned it off."""
    run_cli(["telemetry", "disable"], env, cli=cli.kind)
    result = run_cli(cli.ok_argv, {**env, DEBUG: "1"}, cli=cli.kind)
    assert printed_events(result.stderr) == []
    assert "disabled in the config" in result.stderr
