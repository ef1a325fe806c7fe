"""What a your-cli user sees of telemetry: the first-run notice, opting out, `telemetry ...`.

The endpoint is a loopback port nothing listens on, so the background sender fails fast and
queued events stay in the spool for the test to read.
"""

from __future__ import annotations

import json
import stat
from typing import TYPE_CHECKING

import pytest

from tests.support.cli import (
    ENDPOINT_VARIABLE,
    OPT_OUT_VARIABLE,
    PLATFORM_DIR,
    run_cli,
    spooled_events,
)

if TYPE_CHECKING:
    from pathlib import Path

INFO = "your-cli 0.2.1\nplatform: your-platform\n"


@pytest.fixture
def offline(free_port: int) -> dict[str, str]:
    """An environment whose endpoint refuses connections (nothing leaves the machine)."""
    return {ENDPOINT_VARIABLE: f"http://127.0.0.1:{free_port}/v1/event"}


def test_the_first_run_shows_the_notice_once_and_sends_nothing(
    home: Path, offline: dict[str, str]
) -> None:
    """Run 1: notice on stderr, stdout unchanged, nothing queued. Run 2: silent, one event."""
    first = run_cli("info", home=home, env=offline)
    assert (first.returncode, first.stdout) == (0, INFO)
    for promise in (
        "your-cli telemetry disable",
        "YOUR_PLATFORM_TELEMETRY_OPT_OUT=1",
        "DO_NOT_TRACK",
        "https://your-platform.com/telemetry",
    ):
        assert promise in first.stderr
    assert spooled_events(home) == []
    directory = home / PLATFORM_DIR
    config = json.loads((directory / "config.json").read_text())
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "config.json").stat().st_mode) == 0o600

    second = run_cli("info", home=home, env=offline)
    assert (second.returncode, second.stdout, second.stderr) == (0, INFO, "")
    events = spooled_events(home)
    assert [(e["command"], e["status"]) for e in events] == [("info", "success")]
    assert events[0]["installation_id"] == config["installation_id"]


@pytest.mark.parametrize(
    "variables",
    [
        {"DO_NOT_TRACK": "1"},
        {"DO_NOT_TRACK": "true"},
        {OPT_OUT_VARIABLE: "1"},
        {OPT_OUT_VARIABLE: "YES"},
    ],
    ids=["dnt-1", "dnt-true", "opt-out-1", "opt-out-yes"],
)
def test_opting_out_by_environment_leaves_no_trace(
    home: Path, offline: dict[str, str], variables: dict[str, str]
) -> None:
    """With DO_NOT_TRACK or OPT_OUT: same output, no notice, not even a config directory."""
    for argv in (("info",), ("build",), ("deploy",)):
        result = run_cli(*argv, home=home, env={**offline, **variables})
        assert "telemetry" not in result.stderr.lower()
    assert run_cli("info", home=home, env={**offline, **variables}).stdout == INFO
    assert list(home.iterdir()) == []


def test_disable_stops_recording_and_deletes_the_queue(home: Path, offline: dict[str, str]) -> None:
    """`telemetry disable` purges queued events and later runs queue nothing; enable resumes."""
    run_cli("info", home=home, env=offline)  # the first run: notice only
    run_cli("info", home=home, env=offline)
    run_cli("db", "migrate", home=home, env=offline)
    assert len(spooled_events(home)) == 2

    disabled = run_cli("telemetry", "disable", home=home, env=offline)
    assert disabled.returncode == 0
    assert "Deleted 2 queued events" in disabled.stdout
    run_cli("info", home=home, env=offline)
    assert spooled_events(home) == []
    status = json.loads(run_cli("telemetry", "status", "--json", home=home).stdout)
    assert (status["enabled"], status["source"], status["queued"]) == (False, "config", 0)

    assert run_cli("telemetry", "enable", home=home, env=offline).returncode == 0
    assert run_cli("info", home=home, env=offline).stderr == ""  # no second notice
    assert [e["command"] for e in spooled_events(home)] == ["info"]


def test_status_on_a_fresh_machine_creates_nothing(home: Path) -> None:
    """`telemetry status` explains the default and writes no file, shows no notice."""
    result = run_cli("telemetry", "status", home=home)
    assert result.returncode == 0
    assert result.stdout.startswith("Telemetry:")
    assert "the default" in result.stdout
    assert result.stderr == ""
    assert list(home.iterdir()) == []


def test_an_unusable_home_changes_nothing_for_the_user(tmp_path: Path) -> None:
    """HOME is a file: telemetry cannot write, the command's output and status are intact."""
    home = tmp_path / "not-a-directory"
    home.write_text("")
    result = run_cli("info", home=home, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, INFO)
    assert "Traceback" not in result.stderr
