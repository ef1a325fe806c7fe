"""Whatever breaks inside telemetry, the CLI's output, exit status and behaviour are unchanged.

Each case runs the CLI twice: once opted out (the reference: telemetry inert) and once with
telemetry facing the failure. Both runs must print the same stdout and stderr and exit alike.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from tests.client.conftest import read_only_prefix
from tests.client.harness import TINY, platform_dir, read_config, run_cli, spooled_events

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from tests.client.harness import Cli


def same_as_opted_out(
    cli: Cli,
    env: dict[str, str],
    argv: list[str] | None = None,
    *,
    prefix: list[str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run with telemetry on and assert it behaved exactly like an opted-out run."""
    argv = argv or cli.ok_argv
    opted_out = {**env, "DO_NOT_TRACK": "1"}
    reference = run_cli(argv, opted_out, cli=cli.kind, prefix=prefix, cwd=cwd)
    result = run_cli(argv, env, cli=cli.kind, prefix=prefix, cwd=cwd)
    assert (result.returncode, result.stdout, result.stderr) == (
        reference.returncode, reference.stdout, reference.stderr,
    )  # fmt: skip
    assert "Traceback" not in result.stderr
    return result


def test_missing_home_is_not_created(cli: Cli, tmp_path: Path, env: dict[str, str]) -> None:
    """HOME pointing nowhere: the CLI works, and telemetry creates neither HOME nor its folder."""
    missing = tmp_path / "no-such-home"
    same_as_opted_out(cli, {**env, "HOME": str(missing)})
    assert not missing.exists()


@pytest.mark.parametrize("value", ["", "relative/home"])
def test_unusable_home_value(cli: Cli, tmp_path: Path, env: dict[str, str], value: str) -> None:
    """An empty or relative HOME: no guess at another directory, nothing written anywhere."""
    workdir = tmp_path / "work"  # a relative HOME would land here if it were used
    workdir.mkdir()
    same_as_opted_out(cli, {**env, "HOME": value}, cwd=workdir)
    assert list(workdir.iterdir()) == []
    status = json.loads(
        run_cli(["telemetry", "status", "--json"], {**env, "HOME": value}, cli=cli.kind).stdout
    )
    assert (status["enabled"], status["source"]) == (False, "no home directory")
    assert "home directory" in status["problem"]


def test_home_is_a_file(cli: Cli, tmp_path: Path, env: dict[str, str]) -> None:
    """HOME is a regular file: the CLI is unaffected and the file is untouched."""
    fake = tmp_path / "home-file"
    fake.write_text("not a directory")
    same_as_opted_out(cli, {**env, "HOME": str(fake)})
    assert fake.read_text() == "not a directory"


def test_config_is_a_directory(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """config.json being a directory is a config telemetry cannot read: off, nothing changed."""
    (platform_dir(home) / "config.json").mkdir(parents=True)
    same_as_opted_out(cli, env)
    assert spooled_events(home) == []


def test_read_only_home_first_run(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """A read-only HOME on the first run: no notice (it could not be remembered), no change."""
    prefix = read_only_prefix(home)
    same_as_opted_out(cli, env, prefix=prefix)
    assert list(home.iterdir()) == []


def test_read_only_home_later_run(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """A read-only HOME after the first run: the event cannot be spooled, the CLI is unaffected."""
    prefix = read_only_prefix(seeded)
    same_as_opted_out(cli, env, prefix=prefix)
    assert spooled_events(seeded) == []


def test_full_disk(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """A full disk (the spool is /dev/full, every write fails with ENOSPC) changes nothing."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    (platform_dir(seeded) / "telemetry-spool.log").symlink_to("/dev/full")
    same_as_opted_out(cli, env)


def test_a_bug_inside_telemetry_is_swallowed(seeded: Path, env: dict[str, str]) -> None:
    """An unexpected exception while recording (here from a stream's isatty) stays invisible."""
    result = same_as_opted_out(TINY, env, ["odd-stdin"])
    assert result.returncode == 0
    assert spooled_events(seeded) == []
    debug = run_cli(["odd-stdin"], {**env, "YOUR_PLATFORM_TELEMETRY_DEBUG": "1"})
    assert "nothing recorded: unexpected RuntimeError" in debug.stderr  # debug mode does tell


def test_invalid_event_is_dropped_not_sent(seeded: Path, env: dict[str, str]) -> None:
    """A command name the schema rejects ("bad/name") is dropped silently, never queued."""
    same_as_opted_out(TINY, env, ["bad-name"])
    assert spooled_events(seeded) == []
    debug = run_cli(["bad-name"], {**env, "YOUR_PLATFORM_TELEMETRY_DEBUG": "1"})
    assert "command: must be" in debug.stderr


def test_cli_exceptions_propagate_unchanged(seeded: Path, env: dict[str, str]) -> None:
    """The CLI's own crash keeps its traceback and exit status, recorded as internal_error."""
    result = run_cli(["crash"], env)
    reference = run_cli(["crash"], {**env, "DO_NOT_TRACK": "1"})
    assert result.returncode == reference.returncode == 1
    assert result.stderr == reference.stderr
    assert "RuntimeError: boom from the CLI itself" in result.stderr
    (event,) = spooled_events(seeded)
    assert (event["command"], event["status"], event["error_code"]) == (
        "crash", "failure", "internal_error",
    )  # fmt: skip
    assert read_config(seeded)["installation_id"] == event["installation_id"]
