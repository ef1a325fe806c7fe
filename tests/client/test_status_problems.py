"""`telemetry status` and enable/disable when something is wrong: they say what, and what to do.

Delivery failing (the last failure's reason), a damaged config.json (which file, how to fix it,
the ID it still holds), a HOME that does not exist (telemetry cannot work there).
"""

from __future__ import annotations

import json
import ssl
from typing import TYPE_CHECKING

import pytest
import trustme

from tests.client.harness import TINY, YOUR, platform_dir, run_cli, wait_for_sender
from tests.support.sink import Sink

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.client.harness import Cli

ID = "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
ENDPOINT = "YOUR_PLATFORM_TELEMETRY_ENDPOINT"


def status(cli: Cli, env: dict[str, str]) -> tuple[dict[str, object], str]:
    """`telemetry status --json` parsed, and the text form."""
    answer = json.loads(run_cli(["telemetry", "status", "--json"], env, cli=cli.kind).stdout)
    text = run_cli(["telemetry", "status"], env, cli=cli.kind).stdout
    return answer, text


@pytest.fixture
def failing(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(endpoint, expected reason) of a collector failing in the way the test names."""
    kind = request.param
    if kind == "refused":  # the env's endpoint: a closed loopback port
        yield env[ENDPOINT], "connection refused"
        return
    if kind == "http500":
        with Sink() as sink:
            sink.set_mode("status500")
            yield sink.url, "HTTP 500"
        return
    ca = trustme.CA()  # a certificate no trust store knows
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with Sink(tls=context) as sink:
        yield sink.url, "TLS error: certificate not trusted"


@pytest.mark.parametrize("failing", ["refused", "http500", "tls"], indirect=True)
def test_status_shows_why_delivery_fails(
    seeded: Path, env: dict[str, str], failing: tuple[str, str]
) -> None:
    """A failed delivery: status names the reason and its time, in text and JSON."""
    endpoint, reason = failing
    env = {**env, ENDPOINT: endpoint}
    assert run_cli(YOUR.ok_argv, env, cli=YOUR.kind).returncode == 0
    wait_for_sender(seeded)
    answer, text = status(YOUR, env)
    assert answer["queued"] == 1
    assert isinstance(answer["last_failure"], str) and answer["last_failure"].startswith(reason)
    assert answer["last_failure_at"]
    assert f"Last failure:    {answer['last_failure_at']}: {reason}" in text


def corrupt(home: Path, text: str) -> Path:
    """Write a damaged config.json under `home`; its path."""
    directory = platform_dir(home)
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / "config.json"
    path.write_text(text)
    return path


DAMAGED = [
    '{"installation_id": "' + ID + '", "telemetry": {"enabled": tru',  # cut short
    '{"installation_id": "' + ID + '", "telemetry": "off"}',  # a wrong type
]


@pytest.mark.parametrize("action", ["disable", "enable"])
@pytest.mark.parametrize(
    ("text", "reason"), [(DAMAGED[0], "not valid JSON"), ("[1, 2]\n", "not a JSON object")]
)
def test_a_damaged_config_is_named_with_its_fix(
    cli: Cli, home: Path, env: dict[str, str], action: str, text: str, reason: str
) -> None:
    """enable/disable on a damaged config.json: exit 1, one line naming the file and the fix."""
    path = corrupt(home, text)
    result = run_cli(["telemetry", action], env, cli=cli.kind)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{cli.name} telemetry {action}: {path} is damaged ({reason}")
    assert line.endswith("Repair it, or delete it to start afresh; telemetry stays off until then")
    assert path.read_text() == text  # never overwritten


@pytest.mark.parametrize("text", DAMAGED, ids=["truncated", "wrong-type"])
def test_status_of_a_damaged_config_shows_its_id(
    cli: Cli, home: Path, env: dict[str, str], text: str
) -> None:
    """Status of a damaged config: off, the file and the fix named, and the ID it still holds."""
    path = corrupt(home, text)
    answer, shown = status(cli, env)
    assert (answer["enabled"], answer["source"]) == (False, "config unreadable")
    assert answer["installation_id"] == ID
    assert f"Installation ID: {ID}" in shown
    assert f"{path} is damaged" in shown and "Repair it, or delete it" in shown


def test_debug_mode_explains_a_damaged_config_in_a_sentence(
    home: Path, env: dict[str, str]
) -> None:
    """Debug mode on a damaged config prints a sentence, not a Python repr."""
    path = corrupt(home, DAMAGED[0])
    result = run_cli(TINY.ok_argv, {**env, "YOUR_PLATFORM_TELEMETRY_DEBUG": "1"})
    assert result.returncode == 0
    assert "CorruptConfigError" not in result.stderr and "('" not in result.stderr
    assert f"nothing recorded: {path} is damaged (not valid JSON" in result.stderr


def test_status_with_a_missing_home_says_telemetry_cannot_work(
    cli: Cli, tmp_path: Path, env: dict[str, str]
) -> None:
    """HOME names no directory: status says off, and why, instead of "on (the default)"."""
    missing = tmp_path / "no-such-home"
    env = {**env, "HOME": str(missing)}
    answer, text = status(cli, env)
    assert (answer["enabled"], answer["source"]) == (False, "no home directory")
    assert "does not exist" in str(answer["problem"])
    assert text.startswith(
        f"Telemetry:       off (telemetry cannot work here: the home "
        f"directory {missing} does not exist"
    )
    assert "on (the default" not in text
    assert "Installation ID: none (nothing can be saved here)" in text
    disabled = run_cli(["telemetry", "disable"], env, cli=cli.kind)
    assert disabled.returncode == 1
    assert f"the home directory {missing} does not exist" in disabled.stderr
    assert not missing.exists()
