"""{P}_TELEMETRY_ENDPOINT redirects events; plain http:// off loopback is refused outright."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.client.harness import audit_env, audit_events, run_cli, spooled_events

if TYPE_CHECKING:
    from pathlib import Path

    from tests.client.harness import Cli

ENDPOINT = "YOUR_PLATFORM_TELEMETRY_ENDPOINT"


def test_status_shows_the_override(cli: Cli, env: dict[str, str]) -> None:
    """status names the overriding endpoint, and the CLI's default without the variable."""
    status = json.loads(run_cli(["telemetry", "status", "--json"], env, cli=cli.kind).stdout)
    assert status["endpoint"] == env[ENDPOINT]
    assert status["endpoint_problem"] is None
    default = {key: value for key, value in env.items() if key != ENDPOINT}
    status = json.loads(run_cli(["telemetry", "status", "--json"], default, cli=cli.kind).stdout)
    assert status["endpoint"] == "https://telemetry.your-platform.com/v1/event"


def test_loopback_http_endpoint_is_used(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """An http:// endpoint on 127.0.0.1 is accepted: the run queues its event."""
    run_cli(cli.ok_argv, env, cli=cli.kind)
    assert [event["command"] for event in spooled_events(seeded)] == [cli.ok_command]


def test_remote_plain_http_is_refused(
    cli: Cli, seeded: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """http:// to a remote host: nothing queued, no sender, no socket; status says why."""
    refused = {**env, ENDPOINT: "http://telemetry.your-platform.com/v1/event"}
    log = tmp_path / "audit.log"
    plain = run_cli(cli.ok_argv, {**env, "DO_NOT_TRACK": "1"}, cli=cli.kind)
    result = run_cli(cli.ok_argv, audit_env(refused, log), cli=cli.kind)
    assert (result.returncode, result.stdout, result.stderr) == (
        plain.returncode, plain.stdout, plain.stderr,
    )  # fmt: skip
    assert spooled_events(seeded) == []
    assert audit_events(log) == []
    status = run_cli(["telemetry", "status"], refused, cli=cli.kind)
    assert "refused" in status.stdout and "loopback" in status.stdout
