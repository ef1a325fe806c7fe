"""Fixtures for the client tests: a CLI environment per test, Telemetry objects, CLI choice."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from candor.client import Telemetry
from tests.client.harness import TINY, YOUR, Cli, cli_env, platform_dir, wait_for_sender

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

ENDPOINT = "https://telemetry.your-platform.com/v1/event"
POLICY_URL = "https://your-platform.com/telemetry"


@pytest.fixture(params=[TINY, YOUR], ids=["tiny", "your-cli"])
def cli(request: pytest.FixtureRequest) -> Cli:
    """Each CLI in turn: the hand-written tiny_cli.py, then the demo `your-cli` (Click)."""
    chosen: Cli = request.param
    return chosen


@pytest.fixture
def env(home: Path) -> Iterator[dict[str, str]]:
    """The environment for CLI runs in `home`; at the end, waits for any sender they started."""
    yield cli_env(home)
    wait_for_sender(home)


@pytest.fixture
def make_telemetry(home: Path) -> Iterator[Callable[..., Telemetry]]:
    """A factory of in-process Telemetry objects for `home`, with an injected environment."""

    def make(environ: dict[str, str] | None = None, **kwargs: object) -> Telemetry:
        endpoint = cli_env(home)["YOUR_PLATFORM_TELEMETRY_ENDPOINT"]  # a closed loopback port
        base = {"HOME": str(home), "YOUR_PLATFORM_TELEMETRY_ENDPOINT": endpoint}
        options: dict[str, object] = {
            "platform": "your-platform",
            "cli_name": "your-cli",
            "cli_version": "0.2.1",
            "endpoint": ENDPOINT,
            "policy_url": POLICY_URL,
            "environ": {**base, **(environ or {})},
            "home": str(home),
        }
        options.update(kwargs)
        return Telemetry(**options)  # type: ignore[arg-type]

    yield make
    wait_for_sender(home)


def read_only_prefix(path: Path) -> list[str]:
    """A command prefix under which `path` is a read-only file system (a bind mount).

    Needed because the tests may run as root, whom a chmod does not stop; as another user a
    chmod is enough and no prefix is used. Skips the test when neither is possible.
    """
    if os.geteuid() != 0:
        path.chmod(0o555)
        return []
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: cannot make a read-only HOME")
    prefix = [
        "unshare", "-rm", "sh", "-c",
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
        "sh", str(path),
    ]  # fmt: skip
    # Prints "read-only" only if the mount worked and a write under it then failed.
    check = 'touch "$0/probe" 2>/dev/null || echo read-only'
    probe = subprocess.run(
        [*prefix, "sh", "-c", check, str(path)], capture_output=True, text=True, check=False
    )
    if probe.stdout.strip() != "read-only":
        pytest.skip("cannot mount a read-only HOME here (no user namespaces)")
    return prefix


@pytest.fixture
def seeded(home: Path) -> Path:
    """A HOME whose first run is over: an installation ID, the notice shown, nothing queued."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700)
    (directory / "config.json").write_text(
        '{"installation_id": "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c",'
        ' "telemetry": {"notice_shown": true}}\n'
    )
    return home
