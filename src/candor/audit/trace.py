"""Network activity seen from the system calls: strace, when it works here.

A traced run is `strace -DDD -f --seccomp-bpf -e trace=%network -o LOG -- COMMAND`:

- `-f` follows every child, including daemons that detach with setsid (ptrace is not escaped by
  a new session);
- `--seccomp-bpf` stops the program only at network system calls, so tracing costs little;
- `-DDD` makes the tracer a detached grandchild in its own session, so that the program stays
  the audit's direct child: its exit status and exit time are its own, not strace's.

Every `connect`, `sendto`, `sendmsg` and `sendmmsg` that names an IPv4 or IPv6 address counts as
network activity, whether it succeeded or not (in the namespace, anything but loopback fails at
once with ENETUNREACH: the attempt is what we record). Unix sockets and netlink are not network.
"""

from __future__ import annotations

import re
import shutil
import subprocess

NETWORK_CALLS = ("connect", "sendto", "sendmsg", "sendmmsg")
_LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<call>\w+)\((?P<args>.*)$")
_INET = re.compile(r'sin_port=htons\((?P<port>\d+)\), sin_addr=inet_addr\("(?P<addr>[^"]+)"\)')
_INET6 = re.compile(r'sin6_port=htons\((?P<port>\d+)\).*?inet_pton\(AF_INET6, "(?P<addr>[^"]+)"')


class Attempt:
    """One network system call: who, what, where and what the kernel answered."""

    __slots__ = ("address", "call", "pid", "result")

    def __init__(self, pid: int, call: str, address: str, result: str) -> None:
        self.pid = pid
        self.call = call
        self.address = address  # host:port ([v6]:port)
        self.result = result  # "0", "-1 ENETUNREACH (...)", "29", ...

    def __str__(self) -> str:
        return f"{self.call}() to {self.address} = {self.result} (pid {self.pid})"


class Tracer:
    """Wraps commands in strace; `None` from `find()` when strace is missing or refused here."""

    def __init__(self, path: str, seccomp: bool) -> None:
        self.path = path
        self.seccomp = seccomp

    @classmethod
    def find(cls) -> tuple[Tracer | None, str]:
        """A working tracer and a word on it, or None and why not."""
        path = shutil.which("strace")
        if path is None:
            return None, "strace is not installed (Debian: apt-get install strace)"
        for seccomp in (True, False):
            tracer = cls(path, seccomp)
            try:
                probe = subprocess.run(
                    [*tracer.argv("/dev/null"), "true"],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=10,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                return None, f"strace cannot run: {error}"
            if probe.returncode == 0:
                return tracer, "strace" + (" (seccomp-bpf)" if seccomp else "")
            reason = probe.stderr.decode(errors="replace").strip().splitlines()
        return None, f"strace cannot trace here: {reason[-1] if reason else 'unknown error'}"

    def argv(self, log: str) -> list[str]:
        seccomp = ["--seccomp-bpf"] if self.seccomp else []
        return [
            self.path, "-DDD", "-f", *seccomp, "-qq", "-e", "trace=%network", "-e", "signal=none",
            "-s", "64", "-o", log, "--",
        ]  # fmt: skip


def parse(text: str) -> list[Attempt]:
    """The network attempts in an strace log (unfinished/resumed pairs are joined)."""
    attempts = []
    pending: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if "<unfinished ...>" in line:
            pid = line.split(None, 1)[0]
            pending[pid] = line.replace("<unfinished ...>", "")
            continue
        if "resumed>" in line:
            pid = line.split(None, 1)[0]
            line = pending.pop(pid, "") + line.split("resumed>", 1)[1]
        match = _LINE.match(line)
        if not match or match["call"] not in NETWORK_CALLS:
            continue
        args = match["args"]
        address = _address(args)
        if address is None:
            continue  # a unix or netlink socket, or a send on a connected socket
        result = args.rsplit(") = ", 1)[1] if ") = " in args else "?"
        attempts.append(Attempt(int(match["pid"]), match["call"], address, result.strip()))
    return attempts


def _address(args: str) -> str | None:
    found = _INET.search(args)
    if found:
        return f"{found['addr']}:{found['port']}"
    found = _INET6.search(args)
    if found:
        return f"[{found['addr']}]:{found['port']}"
    return None
