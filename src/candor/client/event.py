"""Build the nine-key event from what a run knows, and check it against candor.schema.

What the run knows: the command and its outcome, from the integration, and two facts about the
machine and the terminal, `os_arch` and `is_interactive`, found here. Both avoid the `platform`
module (it imports subprocess and costs the host CLI milliseconds): `sys.platform` and
`os.uname()` are enough, and the names are Rust's `std::env::consts`, so a CLI written in Rust
and one written in Python report the same values. (One module, not two: every recording run
loads it, and each module costs the host CLI's start-up a tenth of a millisecond or more.)

Validation happens here, before the event is spooled: an event the collector would reject
(a command name with an argument in it, an undeclared error code that is not snake_case) is
dropped on the user's machine rather than sent.
"""

from __future__ import annotations

import os
import sys

from candor.schema import (
    ARCH_NAMES,
    CI_VARIABLES,
    EVENT_VERSION,
    MAX_DURATION_MS,
    OS_NAMES,
    validate_event,
)

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# sys.platform prefix → Rust's std::env::consts::OS (first match wins).
_OS_PREFIXES = (
    ("linux", "linux"), ("darwin", "macos"), ("win32", "windows"), ("cygwin", "windows"),
    ("freebsd", "freebsd"), ("netbsd", "netbsd"), ("openbsd", "openbsd"),
    ("dragonfly", "dragonfly"), ("sunos", "solaris"), ("illumos", "illumos"),
    ("android", "android"), ("ios", "ios"), ("aix", "aix"),
)  # fmt: skip

# uname machine (lower case) → Rust's std::env::consts::ARCH.
_ARCH_ALIASES = {
    "x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64", "aarch64_be": "aarch64",
    "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86", "x86": "x86", "i86pc": "x86",
    "riscv64": "riscv64", "ppc": "powerpc", "powerpc": "powerpc", "ppc64": "powerpc64",
    "ppc64le": "powerpc64", "powerpc64": "powerpc64", "powerpc64le": "powerpc64",
    "s390x": "s390x", "mips": "mips", "mipsel": "mips", "mips64": "mips64",
    "mips64el": "mips64", "loongarch64": "loongarch64", "sparc64": "sparc64",
}  # fmt: skip


def os_name(platform: str | None = None) -> str:
    """Rust's OS name for `platform` (default `sys.platform`); "unknown" when unmapped."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux") and hasattr(sys, "getandroidapilevel"):
        return "android"  # CPython on Android reports sys.platform "linux" before 3.13
    for prefix, name in _OS_PREFIXES:
        if platform.startswith(prefix):
            return name
    return "unknown"


def arch_name(machine: str) -> str:
    """Rust's architecture name for a `uname -m` value; "unknown" when unmapped."""
    machine = machine.strip().lower()
    name = _ARCH_ALIASES.get(machine)
    if name is None and machine.startswith("arm"):
        name = "arm"  # armv6l, armv7l, armv8l (a 32-bit userland on a 64-bit CPU)
    return name if name in ARCH_NAMES else "unknown"


def _machine() -> str:
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().machine)
    # Windows has no uname; the variable names the process's own architecture (WOW64 aside).
    return os.environ.get("PROCESSOR_ARCHITEW6432") or os.environ.get("PROCESSOR_ARCHITECTURE", "")


def os_arch(platform: str | None = None, machine: str | None = None) -> str:
    """The event's `os_arch`, e.g. "linux-x86_64" or "macos-aarch64", from this machine."""
    name = os_name(platform)
    arch = arch_name(_machine() if machine is None else machine)
    return f"{name if name in OS_NAMES else 'unknown'}-{arch}"


def in_ci(environ: Mapping[str, str]) -> bool:
    """True when any variable of `candor.schema.CI_VARIABLES` is set to a non-empty value."""
    return any(environ.get(name) for name in CI_VARIABLES)


def _isatty(stream: object) -> bool:
    # A host may replace or close its streams (pythonw has None, tests pass StringIO).
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def is_interactive(environ: Mapping[str, str], stdin: object, stdout: object) -> bool:
    """The event's `is_interactive`: stdin and stdout are both terminals and no CI is detected."""
    return _isatty(stdin) and _isatty(stdout) and not in_ci(environ)


def normalize_command(parts: str | Sequence[str]) -> str:
    """The event's `command` for a command path: lower-case words joined by one space.

    `["db", "Migrate"]`, `"db  migrate"` and `("db migrate",)` all give "db migrate". Only
    pass names from the CLI's own command tree, never what the user typed after them.
    """
    if isinstance(parts, str):
        parts = (parts,)
    return " ".join(word.lower() for part in parts for word in part.split())


def clamp_duration(duration_ms: float) -> int:
    """A whole, non-negative number of milliseconds within the schema's maximum."""
    return min(max(int(duration_ms), 0), MAX_DURATION_MS)


def build_event(
    *,
    installation_id: str,
    cli_version: str,
    command: str,
    os_arch: str,
    duration_ms: float,
    error_code: str | None,
    is_interactive: bool,
) -> dict[str, object]:
    """The event with exactly the schema's nine keys; a failure is any non-None error code.

    Raises InvalidEventError (with every problem) when the result breaks the schema.
    """
    event: dict[str, object] = {
        "event_version": EVENT_VERSION,
        "installation_id": installation_id,
        "cli_version": cli_version,
        "command": command,
        "os_arch": os_arch,
        "duration_ms": clamp_duration(duration_ms),
        "status": "success" if error_code is None else "failure",
        "error_code": error_code,
        "is_interactive": is_interactive,
    }
    # validate_event also reports a field the schema gained and this dict lacks ("missing").
    problems = validate_event(event)
    if problems:
        from candor.client.errors import InvalidEventError  # only ever needed here

        raise InvalidEventError(problems)
    return event
