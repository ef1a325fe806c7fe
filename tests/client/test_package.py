"""The client's surface and weight: a small sorted __all__, and imports the host never pays for."""

from __future__ import annotations
import __future__

import json
import subprocess
import sys
from types import ModuleType
from typing import TYPE_CHECKING

import candor.client
from candor.client import telemetry as telemetry_module
from candor.schema import INTERNAL_ERROR, INTERRUPTED
from tests.client.harness import cli_env, spooled_events, wait_for_sender

if TYPE_CHECKING:
    from pathlib import Path

# Never loaded by importing the client or by recording: networking, process and logging
# machinery (the sender, in its own process, is the only user of urllib/ssl/http).
FORBIDDEN = {
    "urllib", "ssl", "uuid", "subprocess", "http", "logging", "asyncio", "dataclasses",
}  # fmt: skip
# Also absent after a bare `import candor.client`: recording loads these on its first call.
NOT_AT_IMPORT = {"json", "re", "typing", "fcntl", "candor.schema"}

PROBE = """
import json, sys
before = set(sys.modules)
{code}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def new_modules(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter loads while running `code`."""
    # json is imported before the snapshot to print the answer; NOT_AT_IMPORT checks use -c.
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def non_stdlib(modules: set[str]) -> set[str]:
    """The modules of `modules` that are neither the standard library nor candor's client."""
    return {
        name
        for name in modules
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "candor"
    }


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted, lists every public name of candor.client, and nothing more."""
    assert candor.client.__all__ == sorted(candor.client.__all__)
    public = {
        name
        for name, value in vars(candor.client).items()
        if not name.startswith("_") and not isinstance(value, ModuleType | __future__._Feature)
    }
    assert public == set(candor.client.__all__) == {"Telemetry", "TelemetryStatus"}


def test_reserved_codes_match_the_schema() -> None:
    """telemetry.py's copies of the reserved error codes equal the schema's (no re import)."""
    assert telemetry_module.INTERNAL_ERROR == INTERNAL_ERROR
    assert telemetry_module.INTERRUPTED == INTERRUPTED


def test_import_loads_nothing_heavy() -> None:
    """A fresh `import candor.client` loads no forbidden module, json, re or typing."""
    code = (
        "import sys; before = set(sys.modules); import candor.client;"
        " print(' '.join(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(result.stdout.split())
    assert "candor.client.telemetry" in loaded  # the probe really imported the client
    assert not {name.split(".")[0] for name in loaded} & FORBIDDEN
    assert not loaded & NOT_AT_IMPORT
    assert not non_stdlib(loaded)


def test_full_record_loads_nothing_forbidden(home: Path) -> None:
    """A whole record() (consent, config, event, spool, sender start) loads nothing forbidden."""
    directory = home / ".your-platform"
    directory.mkdir(mode=0o700)
    (directory / "config.json").write_text(
        '{"installation_id": "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c",'
        ' "telemetry": {"notice_shown": true}}'
    )
    code = (
        "from candor.client import Telemetry\n"
        "t = Telemetry(platform='your-platform', cli_name='your-cli', cli_version='0.2.1',"
        " endpoint='https://telemetry.your-platform.com/v1/event', policy_url='https://x.test')\n"
        "t.record('build', 12, None)\n"
    )
    env = cli_env(home)
    try:
        loaded = new_modules(code, env)
    finally:
        wait_for_sender(home)
    assert [event["command"] for event in spooled_events(home)] == ["build"]  # it did record
    assert "candor.client.spool" in loaded
    assert not {name.split(".")[0] for name in loaded} & FORBIDDEN
    assert not non_stdlib(loaded)
