"""Audit log for process-level tests: put this directory on PYTHONPATH to log side effects.

Python imports `sitecustomize` at startup, so this runs before the program does. It installs a
`sys.addaudithook` hook that appends one line per side effect telemetry must not have when it
is off: a socket created or connected, a name resolved, a process started, a file opened for
writing, a directory made, a file renamed or removed. The log is the file named by
`CANDOR_AUDIT_LOG`: one `event<TAB>detail<TAB>pid` line each (read by `audit_events()` in
tests/client/harness.py). The first line of each process is `audit.start`.
"""

from __future__ import annotations

import os
import sys

_LOG = os.environ.get("CANDOR_AUDIT_LOG")

# Events that reveal a socket, a process or a write; "open" is kept only for write modes.
_WATCHED = frozenset({
    "socket.__new__", "socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.bind",
    "os.posix_spawn", "os.spawn", "os.system", "os.fork", "os.forkpty", "os.exec",
    "subprocess.Popen", "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.truncate",
    "os.symlink", "os.link", "os.chmod",
})  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _is_write(args: tuple[object, ...]) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if isinstance(mode, str) and any(char in mode for char in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _install(log_path: str) -> None:
    # Opened before the hook exists, so logging never reports (or recurses into) itself.
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "open":
            if not _is_write(args):
                return
            detail = repr(args[0])
        elif event in _WATCHED:
            detail = repr(args[:2])
        else:
            return
        line = f"{event}\t{detail}\t{os.getpid()}".replace("\n", " ") + "\n"
        os.write(fd, line.encode("utf-8", "backslashreplace"))

    sys.addaudithook(hook)
    # Proof the hook is live in this process: a log without it means the audit never ran.
    os.write(fd, f"audit.start\t{sys.argv!r}\t{os.getpid()}\n".encode())


if _LOG:
    _install(_LOG)
