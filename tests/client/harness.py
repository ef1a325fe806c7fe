"""What the client tests share: running a real CLI in a temporary HOME, and reading its traces.

Two CLIs are driven as subprocesses: `tiny_cli.py` (Telemetry used by hand) and the demo
`your-cli` (Click, through candor.integrations.click), so every behaviour is seen the way a
user sees it: stdout, stderr, exit status, and the files left under HOME.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from candor.client.recording import file_lock
from candor.client.spool import SENDER_LOCK_FILE, SPOOL_FILE, decode_records
from tests.conftest import unused_port

TINY_CLI = Path(__file__).with_name("tiny_cli.py")
YOUR_CLI = Path(sys.executable).with_name("your-cli")
AUDIT_DIR = Path(__file__).parents[1] / "support" / "audit"
PLATFORM_DIR = ".your-platform"
RUN_TIMEOUT_S = 60  # a CLI run takes well under a second; this only stops a hung test
SENDER_WAIT_S = 60  # the sender's own hard deadline is 30 s
POLL_S = 0.02
AUDIT_START = "audit.start"  # written by the audit hook when it is installed


class Cli:
    """One of the CLIs the user-visible tests drive, with a command that simply succeeds."""

    def __init__(self, kind: str, name: str, ok_argv: list[str], ok_command: str) -> None:
        self.kind = kind  # "tiny" or "your", for run_cli
        self.name = name  # as it names itself in the notice and the telemetry texts
        self.ok_argv = ok_argv
        self.ok_command = ok_command  # the event's "command" for ok_argv

    def __repr__(self) -> str:
        return self.name


TINY = Cli("tiny", "tiny-cli", ["ok"], "ok")
YOUR = Cli("your", "your-cli", ["info"], "info")


def cli_env(home: Path, **overrides: str | None) -> dict[str, str]:
    """The test's (scrubbed) environment with HOME, and an endpoint on a closed loopback port.

    The endpoint override keeps every sender these tests start off the internet; a value of
    None in `overrides` removes a variable.
    """
    env = dict(os.environ)
    env["HOME"] = str(home)
    env["YOUR_PLATFORM_TELEMETRY_ENDPOINT"] = f"http://127.0.0.1:{unused_port()}/v1/event"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no .pyc writes to confuse the audit log
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_cli(
    argv: list[str],
    env: dict[str, str],
    *,
    cli: str = "tiny",
    prefix: list[str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `tiny_cli.py` (cli="tiny") or `your-cli` (cli="your") with `argv` to its end."""
    command = [sys.executable, str(TINY_CLI)] if cli == "tiny" else [str(YOUR_CLI)]
    return subprocess.run(
        [*(prefix or []), *command, *argv],
        env=env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        cwd=cwd,
    )


def platform_dir(home: Path) -> Path:
    """The config directory telemetry uses inside `home`."""
    return home / PLATFORM_DIR


def read_config(home: Path) -> dict[str, object]:
    """The parsed config.json under `home`."""
    data: dict[str, object] = json.loads((platform_dir(home) / "config.json").read_text())
    return data


def spooled_events(home: Path) -> list[dict[str, object]]:
    """The events waiting in the spool under `home`, oldest first (intact records only)."""
    try:
        data = (platform_dir(home) / SPOOL_FILE).read_bytes()
    except FileNotFoundError:
        return []
    records, _ = decode_records(data)
    return [json.loads(record.payload) for record in records]


def wait_for_sender(home: Path) -> None:
    """Poll until no sender holds the sender lock (so none outlives the test's HOME)."""
    lock_path = platform_dir(home) / SENDER_LOCK_FILE
    if not lock_path.exists():
        return
    deadline = time.monotonic() + SENDER_WAIT_S
    while time.monotonic() < deadline:
        with file_lock(str(lock_path), blocking=False) as lock:
            if lock.acquired:
                return
        time.sleep(POLL_S)  # polling a condition, not waiting for time to pass
    raise AssertionError("a sender still held its lock after the deadline")


def files_under(path: Path) -> list[str]:
    """Every file and directory below `path`, relative, sorted."""
    return sorted(str(item.relative_to(path)) for item in path.rglob("*"))


def audit_env(env: dict[str, str], log: Path) -> dict[str, str]:
    """`env` with the auditing sitecustomize.py first on PYTHONPATH, logging to `log`."""
    audited = dict(env)
    paths = [str(AUDIT_DIR), *filter(None, [env.get("PYTHONPATH")])]
    audited["PYTHONPATH"] = os.pathsep.join(paths)
    audited["CANDOR_AUDIT_LOG"] = str(log)
    return audited


def audit_events(log: Path) -> list[tuple[str, str]]:
    """(event, detail) pairs from an audit log, after checking the hook really ran."""
    assert log.exists(), "the audit hook never started: is sitecustomize.py on PYTHONPATH?"
    events = []
    for line in log.read_text().splitlines():
        event, detail, _pid = line.split("\t")
        events.append((event, detail))
    assert events and events[0][0] == AUDIT_START, "the audit log does not begin with its start"
    return [item for item in events if item[0] != AUDIT_START]
