"""A program that hangs when the endpoint hangs is killed at the timeout and reported."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from tests.audit.conftest import audit, left_behind, make_cli, run_audit

if TYPE_CHECKING:
    from pathlib import Path


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
    program.write_text("#!/bin/sh\nsleep 1000\n")
    program.chmod(0o755)
    result = run_audit("--timeout", "1", "--", str(program), tmp=tmp_path, json_form=False)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2
    assert "did not end within 1 s even opted out" in result.stderr
    assert "Traceback" not in result.stderr
    assert _processes_running(str(program)) == []
    assert left_behind(tmp_path) == []
