"""config.json: one ID even under a race, the platform's keys kept, a damaged file left alone."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from candor.client.config import ConfigFile, parse_settings
from candor.client.errors import CorruptConfigError
from candor.schema import FIELDS_BY_NAME, field_problem
from tests.client.harness import (
    POLL_S,
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

CONCURRENT_RUNS = 20
# The platform's own settings, with values JSON can hold in tricky ways.
PLATFORM_KEYS: dict[str, object] = {
    "api_url": "https://api.your-platform.com",
    "profiles": {"default": {"region": "eu-west-1", "retries": 3}},
    "ratio": 0.1,
    "big": 12345678901234567890,
    "name": "Zoë ✓",
    "flags": [True, None, "x"],
}


def test_first_run_creates_private_directory_and_file(
    cli: Cli, home: Path, env: dict[str, str]
) -> None:
    """The first run makes ~/.your-platform 0700 and config.json 0600 with a uuid4 ID."""
    run_cli(cli.ok_argv, env, cli=cli.kind)
    directory = platform_dir(home)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "config.json").stat().st_mode) == 0o600
    ident = read_config(home)["installation_id"]
    assert field_problem(FIELDS_BY_NAME["installation_id"], ident) is None


def test_platform_keys_survive_every_write(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """First run, disable and enable change telemetry's keys only; the rest keeps its values."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    (directory / "config.json").write_text(json.dumps(PLATFORM_KEYS, ensure_ascii=False))
    run_cli(cli.ok_argv, env, cli=cli.kind)
    for action in ("disable", "enable"):
        assert run_cli(["telemetry", action], env, cli=cli.kind).returncode == 0
        config = read_config(home)
        assert {key: config[key] for key in PLATFORM_KEYS} == PLATFORM_KEYS
        assert list(config)[: len(PLATFORM_KEYS)] == list(PLATFORM_KEYS)  # order kept too
        assert config["telemetry"] == {"notice_shown": True, "enabled": action == "enable"}
    assert set(read_config(home)) == {*PLATFORM_KEYS, "installation_id", "telemetry"}


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"telemetry": "off"}'],
    ids=["unparsable", "array", "string", "not-utf8", "telemetry-not-object"],
)
def test_damaged_config_is_never_overwritten(
    cli: Cli, home: Path, env: dict[str, str], content: bytes
) -> None:
    """A damaged config turns telemetry off, is never rewritten by a run, and status says why."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    path = directory / "config.json"
    path.write_bytes(content)
    quiet = run_cli(cli.ok_argv, {**env, "DO_NOT_TRACK": "1"}, cli=cli.kind)
    result = run_cli(cli.ok_argv, env, cli=cli.kind)
    assert (result.returncode, result.stdout, result.stderr) == (
        quiet.returncode, quiet.stdout, quiet.stderr,
    )  # fmt: skip
    assert path.read_bytes() == content
    assert spooled_events(home) == []
    status = run_cli(["telemetry", "status", "--json"], env, cli=cli.kind)
    answer = json.loads(status.stdout)
    assert (answer["enabled"], answer["source"]) == (False, "config unreadable")
    assert "config.json" in answer["problem"]
    assert path.read_bytes() == content


def test_enable_refuses_to_rewrite_an_unparsable_config(
    cli: Cli, home: Path, env: dict[str, str]
) -> None:
    """`telemetry enable` on a file that is not JSON fails in one line (exit 1), file intact."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    (directory / "config.json").write_bytes(b"{oops")
    result = run_cli(["telemetry", "enable"], env, cli=cli.kind)
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert (directory / "config.json").read_bytes() == b"{oops"


def test_enable_repairs_a_damaged_telemetry_section(home: Path, env: dict[str, str]) -> None:
    """A user's explicit choice replaces a damaged "telemetry" value, keeping the other keys."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    (directory / "config.json").write_text('{"api_url": "x", "telemetry": {"enabled": "no"}}')
    assert run_cli(["telemetry", "disable"], env).returncode == 0
    assert read_config(home) == {"api_url": "x", "telemetry": {"enabled": False}}


def test_invalid_installation_id_is_replaced(home: Path, env: dict[str, str]) -> None:
    """An ID that is not a canonical uuid4 is replaced by a valid one, silently."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    (directory / "config.json").write_text(
        '{"installation_id": "my-name-is-alice", "telemetry": {"notice_shown": true}}'
    )
    result = run_cli(["ok"], env)
    assert result.stderr == ""
    ident = read_config(home)["installation_id"]
    assert field_problem(FIELDS_BY_NAME["installation_id"], ident) is None
    assert [event["installation_id"] for event in spooled_events(home)] == [ident]


def test_concurrent_first_runs_agree_on_one_id(home: Path, env: dict[str, str]) -> None:
    """20 first runs released at the same moment: one ID, one notice, every event carries it."""
    gate = home.parent / "gate"
    processes = [
        subprocess.Popen(
            [sys.executable, str(TINY_CLI), "ok"],
            env={**env, "TINY_CLI_GATE": str(gate)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(CONCURRENT_RUNS)
    ]
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while len(list(home.parent.glob("gate.ready.*"))) < CONCURRENT_RUNS:
            assert time.monotonic() < deadline, "the runs never reached the gate"
            time.sleep(POLL_S)  # polling for readiness files
        gate.touch()  # release them all at once
        outputs = [process.communicate(timeout=RUN_TIMEOUT_S) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [process.returncode for process in processes] == [0] * CONCURRENT_RUNS
    notices = [stderr for _, stderr in outputs if "telemetry disable" in stderr]
    assert len(notices) == 1
    ident = read_config(home)["installation_id"]
    events = spooled_events(home)
    assert len(events) == CONCURRENT_RUNS - 1  # everyone but the run that showed the notice
    assert {event["installation_id"] for event in events} == {ident}


def test_settings_reject_wrong_types() -> None:
    """A non-boolean enabled or notice_shown makes the config unreadable (never guessed)."""
    for data in ({"telemetry": {"enabled": "no"}}, {"telemetry": {"notice_shown": 1}}):
        with pytest.raises(CorruptConfigError):
            parse_settings(data)  # type: ignore[arg-type]
    settings = parse_settings({"telemetry": {"enabled": False}, "installation_id": 7})
    assert (settings.enabled, settings.notice_shown, settings.installation_id) == (
        False, False, None,
    )  # fmt: skip


def test_claim_first_run_respects_a_disable(home: Path) -> None:
    """A process that finds telemetry disabled under the lock claims nothing and writes nothing."""
    config = ConfigFile(str(platform_dir(home)))
    config.set_enabled(False)
    before = (platform_dir(home) / "config.json").read_bytes()
    assert config.claim_first_run() == (None, False)
    assert (platform_dir(home) / "config.json").read_bytes() == before
