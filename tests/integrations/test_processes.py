"""The instrumented Click app as a real process: Ctrl-C and an uncaught exception look the same."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.cli import cli_environment, debug_events

if TYPE_CHECKING:
    from collections.abc import Mapping

REPO = Path(__file__).resolve().parents[2]
DEBUG = {"ACME_TELEMETRY_DEBUG": "1"}
TIMEOUT_S = 60


def start(mode: str, *argv: str, home: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start the sample program in `mode` ("plain" or "instrumented")."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integrations.click_program", mode, *argv],
        cwd=REPO,
        env={**cli_environment(home, env), "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def without_debug(stderr: str) -> str:
    """stderr minus the lines telemetry's debug mode adds."""
    return "".join(
        line
        for line in stderr.splitlines(keepends=True)
        if not line.startswith(("acme telemetry debug", "{"))
    )


def interrupted(mode: str, home: Path) -> tuple[int, str, str]:
    """Run `wait`, press Ctrl-C once it is ready; its exit status, stdout and stderr."""
    process = start(mode, "wait", home=home, env=DEBUG)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"  # blocks until the command runs
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, "ready\n" + out, err


def test_ctrl_c_ends_the_same_way_and_is_recorded_as_interrupted(home: Path) -> None:
    """SIGINT: same status, output and "Aborted!" as the plain app; the event says interrupted."""
    plain = interrupted("plain", home)
    instrumented = interrupted("instrumented", home)
    assert instrumented[:2] == plain[:2]
    assert without_debug(instrumented[2]) == plain[2]
    assert "Aborted!" in plain[2]
    events = debug_events(instrumented[2])
    assert [(e["command"], e["error_code"]) for e in events] == [("wait", "interrupted")]


def test_an_uncaught_exception_keeps_its_traceback_and_status(home: Path) -> None:
    """An undeclared exception still ends in Python's traceback and status 1, nothing swallowed.

    The traceback itself has the wrapper's frames in addition: Python lists every frame an
    exception passes through, so only its header and final line are compared.
    """
    results = {}
    for mode in ("plain", "instrumented"):
        process = start(mode, "crash", home=home, env=DEBUG)
        out, err = process.communicate(timeout=TIMEOUT_S)
        results[mode] = (process.returncode, out, without_debug(err).splitlines(), err)
    plain, instrumented = results["plain"], results["instrumented"]
    assert instrumented[0] == plain[0] == 1
    assert instrumented[1] == plain[1] == ""
    assert instrumented[2][0] == plain[2][0] == "Traceback (most recent call last):"
    assert instrumented[2][-1] == plain[2][-1] == "RuntimeError: boom"
    events = debug_events(instrumented[3])
    assert [(e["command"], e["error_code"]) for e in events] == [("crash", "internal_error")]
