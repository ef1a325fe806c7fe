"""Who decides: DO_NOT_TRACK, then {P}_TELEMETRY_OPT_OUT, then the config, then default on."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from candor.client.consent import do_not_track, endpoint_problem, env_prefix, flag, opts_out
from tests.client.harness import platform_dir, run_cli, spooled_events

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from candor.client import Telemetry
    from tests.client.harness import Cli

ID = "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
OPT_OUT = "YOUR_PLATFORM_TELEMETRY_OPT_OUT"
CORRUPT = "{not json"

# (environment, config telemetry.enabled: None = unset, CORRUPT = unparsable file) -> decision
PRECEDENCE = [
    ({}, None, True, "default"),
    ({}, True, True, "config"),
    ({}, False, False, "config"),
    ({}, CORRUPT, False, "config unreadable"),
    ({"DO_NOT_TRACK": "1"}, None, False, "DO_NOT_TRACK"),
    ({"DO_NOT_TRACK": "1"}, True, False, "DO_NOT_TRACK"),
    ({"DO_NOT_TRACK": "1", OPT_OUT: "1"}, True, False, "DO_NOT_TRACK"),
    ({"DO_NOT_TRACK": "1"}, CORRUPT, False, "DO_NOT_TRACK"),
    ({OPT_OUT: "1"}, None, False, OPT_OUT),
    ({OPT_OUT: "true"}, True, False, OPT_OUT),
    ({OPT_OUT: "1"}, CORRUPT, False, OPT_OUT),
    ({"DO_NOT_TRACK": "0", OPT_OUT: "0"}, None, True, "default"),
    ({"DO_NOT_TRACK": "false"}, True, True, "config"),
    ({"DO_NOT_TRACK": ""}, False, False, "config"),
    ({OPT_OUT: "no"}, True, True, "config"),
    ({OPT_OUT: "0", "DO_NOT_TRACK": "FALSE"}, False, False, "config"),
    # Whoever set the opt-out variable meant to opt out, whatever the word.
    ({OPT_OUT: "on"}, None, False, OPT_OUT),
    ({OPT_OUT: "y"}, True, False, OPT_OUT),
    ({OPT_OUT: "2"}, None, False, OPT_OUT),
    ({OPT_OUT: "off"}, True, False, OPT_OUT),
    ({OPT_OUT: " NO "}, None, True, "default"),
    ({OPT_OUT: "False"}, None, True, "default"),
    ({OPT_OUT: ""}, True, True, "config"),
]


def write_config(home: Path, enabled: object) -> bytes:
    """A config after the first run, with `enabled` as given; returns the file's bytes."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    if enabled == CORRUPT:
        data = CORRUPT.encode()
    else:
        telemetry: dict[str, object] = {"notice_shown": True}
        if enabled is not None:
            telemetry["enabled"] = enabled
        data = json.dumps({"installation_id": ID, "telemetry": telemetry}).encode()
    (directory / "config.json").write_bytes(data)
    return data


@pytest.mark.parametrize(("environ", "enabled", "expected", "source"), PRECEDENCE)
def test_precedence_table(
    make_telemetry: Callable[..., Telemetry],
    home: Path,
    environ: dict[str, str],
    enabled: object,
    expected: bool,
    source: str,
) -> None:
    """status() reports the deciding source, and record() spools exactly when it says on."""
    before = write_config(home, enabled)
    telemetry = make_telemetry(environ)
    status = telemetry.status()
    assert (status.enabled, status.source) == (expected, source)
    telemetry.record("build", 5)
    assert len(spooled_events(home)) == (1 if expected else 0)
    if not expected:
        assert (platform_dir(home) / "config.json").read_bytes() == before


@pytest.mark.parametrize(
    ("value", "off"),
    [
        (None, False), ("", False), ("0", False), ("false", False), ("FALSE", False),
        (" False ", False), ("1", True), ("true", True), ("yes", True), ("no", True),
        ("anything", True),
    ],
)  # fmt: skip
def test_do_not_track_values(value: str | None, off: bool) -> None:
    """DO_NOT_TRACK is off for any value but empty, 0 or false (any case)."""
    assert do_not_track(value) is off


@pytest.mark.parametrize(
    ("value", "on"),
    [
        (None, False), ("", False), ("0", False), ("no", False), ("false", False),
        ("2", False), ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("Yes", True),
    ],
)  # fmt: skip
def test_debug_values(value: str | None, on: bool) -> None:
    """DEBUG takes 1, true or yes in any case, and nothing else."""
    assert flag(value) is on


@pytest.mark.parametrize(
    ("value", "off"),
    [
        (None, False), ("", False), ("0", False), ("no", False), ("NO", False),
        ("false", False), (" False ", False), ("1", True), ("true", True), ("yes", True),
        ("on", True), ("ON", True), ("y", True), ("2", True), ("off", True), ("anything", True),
    ],
)  # fmt: skip
def test_opt_out_values(value: str | None, off: bool) -> None:
    """OPT_OUT turns telemetry off for any value but empty, 0, false or no (any case)."""
    assert opts_out(value) is off


@pytest.mark.parametrize("value", ["on", "y", "2", "off"])
def test_opt_out_words_silence_the_real_cli(
    cli: Cli, seeded: Path, env: dict[str, str], value: str
) -> None:
    """`your-cli` with OPT_OUT=on|y|2|off queues nothing; status names the variable and value."""
    opted = {**env, OPT_OUT: value}
    assert run_cli(cli.ok_argv, opted, cli=cli.kind).returncode == 0
    assert spooled_events(seeded) == []
    status = run_cli(["telemetry", "status"], opted, cli=cli.kind).stdout
    assert f"off ({OPT_OUT}={value} is set for this execution)" in status
    answer = json.loads(run_cli(["telemetry", "status", "--json"], opted, cli=cli.kind).stdout)
    assert (answer["enabled"], answer["source"], answer["source_value"]) == (False, OPT_OUT, value)


def test_env_prefix() -> None:
    """The variable prefix is the platform name, upper case, with non-alphanumerics as "_"."""
    assert env_prefix("your-platform") == "YOUR_PLATFORM"
    assert env_prefix("acme.cloud") == "ACME_CLOUD"


@pytest.mark.parametrize(
    "url",
    [
        "https://telemetry.your-platform.com/v1/event",
        "https://telemetry.example:8443/v1/event",
        "http://127.0.0.1:8000/v1/event",
        "http://127.1.2.3/v1/event",
        "http://localhost:8000/v1/event",
        "http://[::1]:8000/v1/event",
        "HTTP://LOCALHOST/v1/event",
    ],
)
def test_endpoint_accepted(url: str) -> None:
    """https:// anywhere, and http:// to loopback, are accepted."""
    assert endpoint_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://telemetry.your-platform.com/v1/event",
        "http://10.0.0.1/v1/event",
        "http://127.0.0.1.evil.example/v1/event",
        "http://localhost.evil.example/v1/event",
        "http://[::2]/v1/event",
        "http://user@example.com@127.0.0.1x/v1/event",
        "http://127.0.0.1@evil.example/v1/event",
        "http://evil.example#@127.0.0.1/v1/event",
        "http://evil.example?@127.0.0.1/v1/event",
        "ftp://127.0.0.1/v1/event",
        "file:///etc/passwd",
        "telemetry.your-platform.com/v1/event",
        "https:///v1/event",
        "http://127.0.0.1:port/v1/event",
    ],
)
def test_endpoint_refused(url: str) -> None:
    """Plain http:// off loopback, other schemes, and malformed URLs are refused with a reason."""
    assert endpoint_problem(url)
