"""The processes of the audit's PID namespace: list them, wait for them, kill and reap them.

The audit is PID 1 of its namespace, so /proc lists only the audit, its tracer (strace -DDD,
which detaches from the program) and whatever the program started; every orphan is re-parented
to the audit, which reaps it. Killing "everything but us and the tracer" therefore ends exactly
what the program left behind, however it detached (setsid, double fork, nohup).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

POLL_S = 0.02


def others(exclude: str) -> list[tuple[int, str]]:
    """Live processes of the namespace but the audit itself and its tracer: (pid, description)."""
    found = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as file:
                stat = file.read().decode(errors="replace")
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                cmdline = file.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # exited meanwhile
        state = stat.rpartition(")")[2].split()[0] if ")" in stat else "?"
        if state == "Z":
            _reap(pid)
            continue
        if _is_tracer(stat, cmdline, exclude):
            continue
        found.append((pid, f"pid {pid}: {cmdline[:160] or stat.split()[1]}"))
    return found


def _is_tracer(stat: str, cmdline: str, log: str) -> bool:
    # strace -DDD forks twice; its short-lived middle process has an empty command line.
    comm = stat.partition("(")[2].rpartition(")")[0]
    return comm == "strace" and (log in cmdline or not cmdline)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # not ours: its own parent reaps it
        os.waitpid(pid, os.WNOHANG)


def exited_within(pid: int, timeout: float) -> bool:
    """Wait for our child `pid` to exit, to the millisecond (Popen.wait polls every 50 ms)."""
    fd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    return bool(ready)


def wait_for_others(deadline: float, exclude: str, until: Callable[[], bool] | None) -> None:
    """Let left processes run until they are gone, `until()` is true, or `deadline` passes."""
    while others(exclude) and time.monotonic() < deadline:
        if until is not None and until():
            return
        time.sleep(POLL_S)


def kill_all(exclude: str) -> None:
    """SIGKILL every process of the namespace but the audit and the tracer, and reap them."""
    for _ in range(200):
        left = others(exclude)
        if not left:
            return
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(POLL_S)
        _reap_all()


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def finish_tracer(log: str) -> None:
    """The tracer exits once its tracees are gone; kill it if it does not within a second."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and _tracers(log):
        time.sleep(POLL_S)
        _reap_all()
    for pid in _tracers(log):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap_all()


def _tracers(log: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as file:
                    cmdline = file.read()
            except OSError:
                continue
            if b"strace" in cmdline and log.encode() in cmdline:
                found.append(int(name))
    return found
