"""The sandbox: namespaces where only loopback exists, entered with util-linux `unshare`.

The whole audit runs inside, as PID 1 of its own namespaces, with the program under audit:

    unshare [--user --map-root-user] --net --mount --uts --pid --fork --mount-proc --kill-child \
        python -m candor.audit.inside WORKDIR

- `--net`: a network namespace holding only `lo`. Nothing the program tries can leave the
  machine: any address but loopback fails with ENETUNREACH. The audit brings `lo` up and adds
  PLAIN_HOST (192.0.2.80, TEST-NET-1) to it as a /32, so that check 8's "non-loopback" http://
  endpoint is still an address on this namespace's own loopback device, where a listener records
  the attempt; there is no route out of the namespace at all.
- `--mount`: private mounts. A tmpfs over /run hides the host's resolver sockets (nscd,
  systemd-resolved, D-Bus, avahi), which would otherwise resolve names outside the namespace
  over Unix sockets; /etc/resolv.conf points at the audit's DNS recorder on 127.0.0.1:53 and
  /etc/nsswitch.conf says `hosts: files dns`; /etc/passwd names the current user with a canary.
- `--uts`: the host name becomes a canary.
- `--pid --mount-proc`: the audit is PID 1, every process the program leaves behind is
  re-parented to it and listed in /proc; when the audit exits the kernel kills whatever is left,
  and `--kill-child` does the same if the outer `candor audit` dies.
- `--user --map-root-user` (only when not already root): an unprivileged user namespace in
  which the audit is root *of its own namespaces only*; that is all the steps above need. As
  root, no user namespace is made (root needs none). So root is not needed where the kernel
  allows unprivileged user namespaces (kernel.unprivileged_userns_clone, and on Ubuntu ≥ 23.10
  kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for unshare).

Where `unshare` is missing or refused, the audit stops with exit status 2 and the reason, and
runs nothing: every check could touch a network, and none is run unconfined to find out.

Established by experiment on the development machine (a container, Linux 6.18, Debian 12):
all of the above works as root and, through the user namespace, as `nobody` (setpriv), which
tests/audit/test_command.py::test_an_unprivileged_user_can_audit_in_a_user_namespace repeats;
binding port 53 and 80 needs no privilege in a namespace the audit owns; the ioctls bring `lo`
up and add the /32 (no iproute2 needed, no `ip netns`, which would need real root); strace 6.1
traces with `--seccomp-bpf` inside the namespaces, unprivileged too (ptrace of one's own child).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import shutil
import socket
import struct
import subprocess

PLAIN_HOST = "192.0.2.80"  # TEST-NET-1 (RFC 5737): never routed, and here only on our own lo
PLAIN_PORT = 80
DNS_HOST = "127.0.0.1"

_MS_BIND = 4096
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _SIOCSIFADDR, _SIOCSIFNETMASK = 0x8913, 0x8914, 0x8916, 0x891C
_IFF_UP = 0x1


class SandboxError(Exception):
    """The sandbox cannot be set up here; the message says why (exit status 2)."""


def unshare_argv() -> list[str]:
    """The `unshare` prefix for this user (a user namespace only when not root)."""
    path = shutil.which("unshare")
    if path is None:
        raise SandboxError("util-linux `unshare` is not installed: no network namespace")
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [
        path, *user, "--net", "--mount", "--uts", "--pid", "--fork", "--mount-proc",
        "--kill-child",
    ]  # fmt: skip


def probe() -> list[str]:
    """The `unshare` prefix, after proving it works here; raises SandboxError with the reason."""
    argv = unshare_argv()
    try:
        result = subprocess.run(
            [*argv, "true"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxError(f"cannot run unshare: {error}") from None
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else f"exit status {result.returncode}"
        hint = "" if os.geteuid() == 0 else " (unprivileged user namespaces may be disabled)"
        raise SandboxError(f"cannot make a network namespace: {why}{hint}")
    return argv


# ---------------------------------------------------------------- inside the namespaces


def prepare(work: str, user: str, host: str) -> list[str]:
    """Set up the namespaces from inside (as their root); returns notes for the report."""
    notes = []
    _loopback_up()
    try:
        _add_address("lo:audit", PLAIN_HOST)
        notes.append(f"{PLAIN_HOST}/32 added to lo for the plain-text check")
    except OSError as error:
        notes.append(f"could not add {PLAIN_HOST} to lo ({error.strerror}); strace only")
    socket.sethostname(host)
    resolv = os.path.realpath("/etc/resolv.conf")
    if os.path.isdir("/run"):
        _mount("tmpfs", "/run", "tmpfs", 0, "mode=0755")
    etc = os.path.join(work, "etc")
    os.makedirs(etc, exist_ok=True)
    if os.path.exists(resolv) or resolv.startswith("/run/"):
        _replace_file(resolv, os.path.join(etc, "resolv.conf"), f"nameserver {DNS_HOST}\n")
    else:
        notes.append("no /etc/resolv.conf: the C library's default, 127.0.0.1, is the recorder")
    if os.path.exists("/etc/nsswitch.conf"):
        with open("/etc/nsswitch.conf", encoding="utf-8", errors="replace") as file:
            lines = [line for line in file if not line.startswith("hosts:")]
        text = "".join(lines) + "hosts: files dns\n"
        _replace_file("/etc/nsswitch.conf", os.path.join(etc, "nsswitch.conf"), text)
    if os.path.exists("/etc/passwd"):
        _replace_file("/etc/passwd", os.path.join(etc, "passwd"), _passwd_with(user))
    return notes


def _replace_file(target: str, copy: str, text: str) -> None:
    """Make `target` read as `text` in this mount namespace only."""
    with open(copy, "w", encoding="utf-8") as file:
        file.write(text)
    if target.startswith("/run/"):  # e.g. a resolv.conf symlink into systemd-resolved's dir
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as file:
            file.write(text)
        return
    _mount(copy, target, None, _MS_BIND, None)


def _passwd_with(user: str) -> str:
    uid = str(os.getuid())
    lines = []
    with open("/etc/passwd", encoding="utf-8", errors="replace") as file:
        for line in file:
            fields = line.rstrip("\n").split(":")
            if len(fields) >= 3 and fields[2] == uid:
                fields[0] = user
            lines.append(":".join(fields) + "\n")
    return "".join(lines)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    result = libc.mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise SandboxError(f"mount {target}: {os.strerror(errno)}")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def _add_address(label: str, address: str) -> None:
    def sockaddr(ip: str) -> bytes:
        return struct.pack("HH4s8x", socket.AF_INET, 0, socket.inet_aton(ip))

    name = label.encode().ljust(16, b"\0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, _SIOCSIFADDR, name + sockaddr(address))
        fcntl.ioctl(sock, _SIOCSIFNETMASK, name + sockaddr("255.255.255.255"))


def only_loopback() -> list[str]:
    """The interfaces of this namespace that are not loopback (must be none)."""
    return [name for _, name in socket.if_nameindex() if name != "lo"]
