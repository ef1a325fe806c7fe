"""The client's surface and weight: a small sorted __all__, and imports the host never pays for."""

from __future__ import annotations
import __future__

import json
import subprocess
import sys
import time
from types import ModuleType
from typing import TYPE_CHECKING

import candor.client
from candor.schema import INTERNAL_ERROR, INTERRUPTED, USAGE_ERROR
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

# The modules a record() loads beyond `import candor.client`, when no sender is to be started.
RECORDING_MODULES = {"candor.client.recording"}
# What an opted-out run of a Click CLI loads beyond the plain program: the client's package
# and the Click integration, nothing more (no json, no schema, no fcntl, no contextvars).
OPTED_OUT_LAYER = {
    "candor.client", "candor.integrations", "candor.integrations.click",
}  # fmt: skip
# What a recording run of a Click CLI loads beyond the plain program when it starts no sender:
# the client's package and its recording module, the Click integration and the layer that
# follows a run; not the module that builds the `telemetry` commands.
RECORDING_LAYER = OPTED_OUT_LAYER | {"candor.client.recording", "candor.integrations._clicklike"}
PLAIN_PROGRAM = {"candor", "candor.demo", "candor.demo.your_cli"}  # the packages, the program
# Runs a program's `info` command and prints, last on stdout, the modules it loaded; without
# json, so that json's absence can be seen.
RUN_PROBE = """
import sys
before = set(sys.modules)
{code}
try:
    cli.main(["info"], prog_name="your-cli")
except SystemExit:
    pass
print(" ".join(sorted(set(sys.modules) - before)))
"""

PROBE = """
import json, sys
before = set(sys.modules)
{code}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def probe_output(script: str, env: dict[str, str] | None) -> str:
    """What a fresh interpreter running `script` prints (it must succeed)."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return result.stdout


def new_modules(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter loads while running `code`."""
    # json is imported before the snapshot to print the answer; NOT_AT_IMPORT checks use -c.
    output = probe_output(PROBE.format(code=code), env)
    return set(json.loads(output.splitlines()[-1]))


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
    assert candor.client.TelemetryStatus.__name__ == "TelemetryStatus"  # lazy: loaded on use
    public = {
        name
        for name, value in vars(candor.client).items()
        if not name.startswith("_") and not isinstance(value, ModuleType | __future__._Feature)
    }
    assert public == set(candor.client.__all__) == {"Telemetry", "TelemetryStatus"}


def test_reserved_codes_match_the_schema() -> None:
    """candor.client's copies of the reserved error codes equal the schema's (no schema import)."""
    assert candor.client._INTERNAL_ERROR == INTERNAL_ERROR
    assert candor.client._INTERRUPTED == INTERRUPTED
    assert candor.client._USAGE_ERROR == USAGE_ERROR


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
    assert "candor.client" in loaded  # the probe really imported the client
    assert not {name.split(".")[0] for name in loaded} & FORBIDDEN
    assert not loaded & NOT_AT_IMPORT
    assert not non_stdlib(loaded)


def backoff_pending(home: Path) -> None:
    """A set-up installation whose delivery backs off for an hour: a run records, starts no
    sender."""
    directory = home / ".your-platform"
    directory.mkdir(mode=0o700)
    (directory / "config.json").write_text(
        '{"installation_id": "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c",'
        ' "telemetry": {"notice_shown": true}}'
    )
    (directory / "telemetry-state.json").write_text(
        json.dumps({"failures": 1, "next_attempt_at": time.time() + 3600})
    )


def test_record_during_a_backoff_loads_only_the_recording_modules(home: Path) -> None:
    """Recording while delivery backs off (an endpoint down) loads the one recording module:
    not the schema (its rules are copied), json, the launcher, the errors or fcntl's
    neighbours, and compiles none of the schema's regular expressions."""
    backoff_pending(home)
    code = (
        "from candor.client import Telemetry\n"
        "t = Telemetry(platform='your-platform', cli_name='your-cli', cli_version='0.2.1',"
        " endpoint='https://telemetry.your-platform.com/v1/event', policy_url='https://x.test')\n"
        "import sys; before = set(sys.modules)\n"
        "t.record('build', 12, None)\n"
        "loaded = sorted(set(sys.modules) - before)\n"
        "import candor.schema\n"
        "assert not candor.schema._compiled, 'a pattern was compiled'\n"
        "print(' '.join(loaded), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=cli_env(home),
    )
    every = set(result.stderr.split())
    loaded = {name for name in every if name.startswith("candor")}
    assert [event["command"] for event in spooled_events(home)] == ["build"]  # it did record
    assert loaded == RECORDING_MODULES
    assert "json" not in every  # the config, the state and the event are read and written by hand


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
    assert "candor.client.recording" in loaded
    assert not {name.split(".")[0] for name in loaded} & FORBIDDEN
    assert not non_stdlib(loaded)


def loaded_by_run(code: str, env: dict[str, str]) -> set[str]:
    """The modules a fresh interpreter loads while importing `code` and running `cli info`."""
    output = probe_output(RUN_PROBE.format(code=code), env)
    assert output.startswith("your-cli 0.2.1\n")  # the command really ran
    return set(output.splitlines()[-1].split())


def test_opted_out_click_run_loads_only_the_thin_layer(home: Path) -> None:
    """Opted out, your-cli loads only the client's package and the Click integration more
    than its plain Click program does; the plain program loads nothing of telemetry."""
    env = cli_env(home, YOUR_PLATFORM_TELEMETRY_OPT_OUT="1")
    plain = loaded_by_run("from candor.demo.your_cli import cli", env)
    instrumented = loaded_by_run(
        "from candor.demo.your_cli import cli, create_telemetry\n"
        "from candor.integrations.click import instrument\n"
        "instrument(cli, create_telemetry())",
        env,
    )
    assert "click" in plain
    assert {name for name in plain if name.startswith("candor")} == PLAIN_PROGRAM
    assert instrumented - plain == OPTED_OUT_LAYER
    assert not (home / ".your-platform").exists()


def test_recording_click_run_loads_only_the_recording_layer(home: Path) -> None:
    """Recording (delivery backing off, so no sender starts), your-cli loads the client's
    package, its recording module and the two integration modules more than its plain Click
    program does: not the `telemetry` commands' builder, no other client module."""
    backoff_pending(home)
    env = cli_env(home)
    plain = loaded_by_run("from candor.demo.your_cli import cli", env)
    instrumented = loaded_by_run(
        "from candor.demo.your_cli import cli, create_telemetry\n"
        "from candor.integrations.click import instrument\n"
        "instrument(cli, create_telemetry())",
        env,
    )
    assert [event["command"] for event in spooled_events(home)] == ["info"]  # it did record
    assert {name for name in instrumented - plain if name.startswith("candor")} == RECORDING_LAYER
