"""What the delivery tests share: distinct events, the foreground sender, backoff expiry."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from candor.client.spool import Spool

INSTALLATION_ID = "0b7f2a8e-4c1d-4e5f-9a6b-3c2d1e0f9a8b"
SENDER_TIMEOUT_S = 60  # a foreground sender run is bounded by its own 30 s deadline


def make_event(number: int, **changes: object) -> dict[str, object]:
    """A valid event; `number` (the duration) tells events apart in exactly-once checks."""
    event: dict[str, object] = {
        "event_version": "1.0",
        "installation_id": INSTALLATION_ID,
        "cli_version": "0.2.1",
        "command": "build",
        "os_arch": "linux-x86_64",
        "duration_ms": number,
        "status": "success",
        "error_code": None,
        "is_interactive": False,
    }
    event.update(changes)
    return event


def fill(spool: Spool, count: int, start: int = 0) -> list[int]:
    """Append `count` distinct events; return their numbers."""
    numbers = list(range(start, start + count))
    for number in numbers:
        spool.append(make_event(number))
    return numbers


def numbers_of(events: list[dict[str, object]]) -> list[int]:
    """The distinguishing numbers of events, sorted (duplicates kept)."""
    return sorted(int(event["duration_ms"]) for event in events)  # type: ignore[call-overload]


def expire_backoff(spool: Spool) -> None:
    """Let the persisted backoff run out now, as if its time had passed."""
    with spool.locked() as tx:
        tx.state["next_attempt_at"] = None
        tx.save_state()


def sender_command(directory: Path, endpoint: str, *extra: str) -> list[str]:
    """The foreground sender's command line."""
    return [
        sys.executable, "-m", "candor.client.sender",
        "--directory", str(directory), "--endpoint", endpoint, *extra,
    ]  # fmt: skip


def run_sender(
    directory: Path, endpoint: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the sender in the foreground until it exits."""
    return subprocess.run(
        sender_command(directory, endpoint, *extra),
        capture_output=True,
        text=True,
        timeout=SENDER_TIMEOUT_S,
        check=False,
        env=env if env is not None else dict(os.environ),
    )


def sender_pids(directory: Path) -> list[int]:
    """Live sender processes working on `directory` (found through /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue  # exited meanwhile
        if b"candor.client.sender" in argv and str(directory).encode() in argv:
            pids.append(int(entry))
    return pids
