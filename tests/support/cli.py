"""Run the real `your-cli` console script as a user would, and read what its telemetry printed.

    from tests.support.cli import run_cli, debug_events

    result = run_cli("build", home=home, env={"YOUR_PLATFORM_TELEMETRY_DEBUG": "1"})
    assert debug_events(result.stderr)[0]["command"] == "build"

The child gets a scrubbed environment: only PATH, the locale and HOME, plus what `env` adds;
nothing of the developer's or CI's environment (DO_NOT_TRACK, CI, proxies, telemetry
variables) leaks in. Its working directory defaults to `home`, so `init`/`build` never write
into the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

# The script installed next to the interpreter running the tests (.venv/bin/your-cli).
YOUR_CLI = str(Path(sys.executable).with_name("your-cli"))
PLATFORM_DIR = ".your-platform"
DEBUG_VARIABLE = "YOUR_PLATFORM_TELEMETRY_DEBUG"
OPT_OUT_VARIABLE = "YOUR_PLATFORM_TELEMETRY_OPT_OUT"
ENDPOINT_VARIABLE = "YOUR_PLATFORM_TELEMETRY_ENDPOINT"
# Generous: a loaded 2-core machine can take seconds to start Python; a hang still fails.
RUN_TIMEOUT_S = 60
# The only variables kept from the test process: enough to find programs and decode text.
BASE_VARIABLES = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")


def cli_environment(home: Path | str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The scrubbed environment `run_cli` gives the child: base variables, HOME, then `env`."""
    base = {name: os.environ[name] for name in BASE_VARIABLES if name in os.environ}
    base.setdefault("PATH", "/usr/bin:/bin")
    return {**base, "HOME": str(home), **(env or {})}


def run_cli(
    *args: str,
    home: Path | str,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `your-cli *args` with HOME=`home` (cwd defaults to it) and capture its output."""
    return subprocess.run(
        [YOUR_CLI, *args],
        env=cli_environment(home, env),
        cwd=str(home if cwd is None else cwd),
        input=input,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        # No terminal on stdin unless input is given: a stray prompt must not block the suite.
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def debug_events(stderr: str) -> list[dict[str, object]]:
    """The events a run printed with YOUR_PLATFORM_TELEMETRY_DEBUG=1 (one JSON object a line)."""
    events = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            value = json.loads(line)
            if isinstance(value, dict) and "event_version" in value:
                events.append(value)
    return events


def debug_run(
    *args: str,
    home: Path | str,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, object] | None]:
    """Run `your-cli` in debug mode; the result and the one event it would send (or None)."""
    result = run_cli(*args, home=home, env={**(env or {}), DEBUG_VARIABLE: "1"}, cwd=cwd)
    events = debug_events(result.stderr)
    assert len(events) <= 1, f"one run printed {len(events)} events: {result.stderr}"
    return result, (events[0] if events else None)


def spooled_events(home: Path | str) -> list[dict[str, object]]:
    """The intact events waiting in `home`'s spool, decoded as the sender decodes them."""
    from candor.client.spool import decode_records

    path = Path(home, PLATFORM_DIR, "telemetry-spool.log")
    if not path.exists():
        return []
    records, _damaged = decode_records(path.read_bytes())
    return [json.loads(record.payload) for record in records]


def mark_notice_shown(home: Path | str) -> None:
    """Write a config as if the first run had happened, so the next run records an event."""
    directory = Path(home, PLATFORM_DIR)
    directory.mkdir(mode=0o700, exist_ok=True)
    config = {
        "installation_id": "3f1c2b9a-5d4e-4f60-9a7b-8c9d0e1f2a3b",
        "telemetry": {"notice_shown": True},
    }
    path = directory / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    path.chmod(0o600)
