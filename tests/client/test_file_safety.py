"""Telemetry's files are opened safely: no hang on a FIFO, no write through a link, bounded reads.

A FIFO in place of config.json hung every command, of the state file `info`, of the spool
`status` and `disable`; the spool and lock files were followed through symbolic links; a
100 MB spool was read whole by the next command. Each case drives a real CLI process.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

import pytest

from candor.client.files import atomic_write
from candor.client.spool import MAX_SPOOL_BYTES, TRIM_TO_BYTES, encode_record
from tests.client.delivery.harness import make_event
from tests.client.harness import TINY, YOUR, platform_dir, run_cli, spooled_events

if TYPE_CHECKING:
    from pathlib import Path

    from tests.client.harness import Cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and O_NOFOLLOW are POSIX")

HUGE_SPOOL_BYTES = 100 * 1024 * 1024  # the size that made a command take 6.9 s
# A run reads its Python modules too (a few MB at most); a run that read the spool would
# read a hundred times that.
READ_BUDGET_BYTES = 20 * 1024 * 1024


def status_json(cli: Cli, env: dict[str, str]) -> dict[str, object]:
    result = run_cli(["telemetry", "status", "--json"], env, cli=cli.kind)
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_a_fifo_config_hangs_nothing(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """config.json is a FIFO: commands run, telemetry counts itself off and says why."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    os.mkfifo(directory / "config.json")
    result = run_cli(cli.ok_argv, env, cli=cli.kind)
    assert result.returncode == 0, result.stderr
    assert spooled_events(home) == []
    answer = status_json(cli, env)
    assert (answer["enabled"], answer["source"]) == (False, "config unreadable")
    assert "not a regular file" in str(answer["problem"])
    failed = run_cli(["telemetry", "disable"], env, cli=cli.kind)
    assert failed.returncode == 1
    assert "not a regular file" in failed.stderr


def test_a_fifo_state_file_hangs_nothing(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """The state file is a FIFO: `info` (a recording run) and status complete."""
    os.mkfifo(platform_dir(seeded) / "telemetry-state.json")
    result = run_cli(cli.ok_argv, env, cli=cli.kind)
    assert result.returncode == 0, result.stderr
    assert len(spooled_events(seeded)) == 1
    assert status_json(cli, env)["queued"] == 1


def test_a_fifo_spool_hangs_nothing(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """The spool is a FIFO: a run, status and disable complete; disable removes the FIFO."""
    spool = platform_dir(seeded) / "telemetry-spool.log"
    os.mkfifo(spool)
    assert run_cli(cli.ok_argv, env, cli=cli.kind).returncode == 0
    answer = status_json(cli, env)
    assert "not a regular file" in str(answer["problem"])
    shown = run_cli(["telemetry", "show"], env, cli=cli.kind)
    assert shown.returncode == 1
    assert shown.stderr == f"{cli.name} telemetry show: {spool} is not a regular file\n"
    result = run_cli(["telemetry", "disable"], env, cli=cli.kind)
    assert result.returncode == 0, result.stderr
    assert not os.path.lexists(spool)


@pytest.mark.parametrize("name", ["telemetry-spool.log", "telemetry-spool.lock"])
def test_links_are_never_followed(
    cli: Cli, seeded: Path, env: dict[str, str], tmp_path: Path, name: str
) -> None:
    """The spool or its lock is a symbolic link: its target is neither written nor created."""
    target = tmp_path / "victim"
    target.write_bytes(b"precious\n")
    dangling = tmp_path / "not-there"
    link = platform_dir(seeded) / name
    link.symlink_to(target)
    assert run_cli(cli.ok_argv, env, cli=cli.kind).returncode == 0
    assert target.read_bytes() == b"precious\n"
    link.unlink()
    link.symlink_to(dangling)
    assert run_cli(cli.ok_argv, env, cli=cli.kind).returncode == 0
    assert not dangling.exists()


def test_a_temporary_file_link_does_not_aim_a_rewrite(home: Path, tmp_path: Path) -> None:
    """A link planted where atomic_write puts its temporary file is replaced, not written through.

    In process: the temporary file's name holds the writer's pid, which a test can know only
    for itself.
    """
    target = tmp_path / "victim"
    target.write_bytes(b"precious\n")
    path = home / "config.json"
    (home / f"config.json.{os.getpid()}.tmp").symlink_to(target)
    atomic_write(str(path), b"{}\n")
    assert target.read_bytes() == b"precious\n"
    assert path.read_bytes() == b"{}\n"
    assert sorted(item.name for item in home.iterdir()) == ["config.json"]


def huge_spool(home: Path) -> int:
    """A 100 MB spool of intact records (sparse: a hole, then the newest records); their count."""
    path = platform_dir(home) / "telemetry-spool.log"
    tail = b"".join(encode_record(make_event(number)) for number in range(2000))
    with open(path, "wb") as handle:
        handle.truncate(HUGE_SPOOL_BYTES - len(tail))
        handle.seek(HUGE_SPOOL_BYTES - len(tail))
        handle.write(tail)
    return 2000


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux's /proc/self/io")
@pytest.mark.parametrize("argv", [TINY.ok_argv, ["telemetry", "status", "--json"]])
def test_a_huge_spool_is_not_read_past_its_bound(
    seeded: Path, env: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    """A 100 MB spool: a recording run and status read at most the bound, and the run trims it."""
    huge_spool(seeded)
    counter = tmp_path / "read-bytes"
    result = run_cli(argv, {**env, "TINY_CLI_READ_BYTES": str(counter)})
    assert result.returncode == 0, result.stderr
    assert int(counter.read_text()) < READ_BUDGET_BYTES
    size = os.path.getsize(platform_dir(seeded) / "telemetry-spool.log")
    if argv == TINY.ok_argv:  # the recording run trimmed the log back within its bound
        assert size <= TRIM_TO_BYTES
        status = run_cli(["telemetry", "status", "--json"], env)
        answer = json.loads(status.stdout)
        assert answer["dropped"] > 0
        assert 0 < answer["queued"] <= MAX_SPOOL_BYTES // 200
    else:  # status changes nothing
        assert size == HUGE_SPOOL_BYTES
        assert 0 < json.loads(result.stdout)["queued"] <= 2000


def test_your_cli_with_a_fifo_config(home: Path, env: dict[str, str]) -> None:
    """The demo `your-cli` itself: every command completes with a FIFO config.json."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    os.mkfifo(directory / "config.json")
    for argv in (YOUR.ok_argv, ["telemetry", "status"], ["telemetry", "enable"]):
        result = run_cli(argv, env, cli=YOUR.kind)
        assert "Traceback" not in result.stderr
