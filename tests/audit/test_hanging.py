"""A program that hangs when the endpoint hangs is killed at the timeout and reported."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from tests.audit.conftest import CANDOR, audit, left_behind, make_cli, run_audit

if TYPE_CHECKING:
    from pathlib import Path

SLEEP = "7919.25"  # a duration no other process here sleeps for, to find it in /proc


def _processes_running(path: str) -> list[str]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as file:
                    cmdline = file.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if path in cmdline:
                found.append(f"{name}: {cmdline}")
    return found


def test_a_cli_that_hangs_on_a_hanging_endpoint_is_killed_and_caught_by_check_6(
    tmp_path: Path,
) -> None:
    cli = make_cli(tmp_path, "shell_cli.sh", "hang")
    found = audit("--timeout", "2", "--", cli, "init", tmp=tmp_path)
    assert found.verdicts == {**dict.fromkeys(range(1, 9), "PASS"), 6: "FAIL"}, found.result.stdout
    check = found.check(6)
    assert "hung" in check["summary"]
    assert any("still running after the timeout, killed" in line for line in check["evidence"])
    hanging = [run for run in found.report["runs"] if run["label"].startswith("endpoint hanging")]
    assert len(hanging) == 1 and hanging[0]["timed_out"]  # once is evidence enough
    # Nothing it started outlives the audit, and the audit's temporary files are gone.
    assert _processes_running(cli) == []
    assert left_behind(tmp_path) == []


def test_a_command_that_never_ends_even_opted_out_cannot_be_audited(tmp_path: Path) -> None:
    program = tmp_path / "forever"
    program.write_text(f"#!/bin/sh\nsleep {SLEEP}\n")
    program.chmod(0o755)
    result = run_audit("--timeout", "1", "--", str(program), tmp=tmp_path, json_form=False)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2
    assert "did not end within 1 s even opted out" in result.stderr
    assert "Traceback" not in result.stderr
    assert _processes_running(str(program)) == []
    assert _processes_running(f"sleep {SLEEP}") == []
    assert left_behind(tmp_path) == []


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_an_interrupted_audit_ends_the_program_and_removes_its_files(
    tmp_path: Path, signum: int, status: int
) -> None:
    """Ctrl-C or SIGTERM mid-run: the program is killed with the namespace, the work dir goes."""
    started = tmp_path / "started"
    program = tmp_path / "slow"
    program.write_text(f"#!/bin/sh\ntouch {started}\nsleep {SLEEP}\n")
    program.chmod(0o755)
    audit = subprocess.Popen(
        [*CANDOR, "audit", "--timeout", "60", "--", str(program)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # A test run in the background with SIGINT ignored must not pass that on.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():  # the program runs inside the sandbox now
            assert audit.poll() is None, audit.stderr.read() if audit.stderr else ""
            assert time.monotonic() < deadline, "the program never started"
            time.sleep(0.02)
        audit.send_signal(signum)
        assert audit.wait(timeout=30) == status
    finally:
        if audit.poll() is None:
            audit.kill()
            audit.wait()
        if audit.stderr:
            audit.stderr.close()
    assert _processes_running(str(program)) == []
    assert _processes_running(f"sleep {SLEEP}") == []
    assert left_behind(tmp_path) == []
