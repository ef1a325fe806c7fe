"""`telemetry status|enable|disable`: the state proven in words and JSON, choices remembered."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from candor.client.commands import run
from candor.client.status import TelemetryStatus
from tests.client.harness import (
    audit_env,
    audit_events,
    platform_dir,
    read_config,
    run_cli,
    spooled_events,
    wait_for_sender,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from candor.client import Telemetry
    from tests.client.harness import Cli

STATUS_KEYS = {
    "debug", "dropped", "enabled", "endpoint", "endpoint_problem", "files", "installation_id",
    "last_delivery", "last_failure", "last_failure_at", "next_attempt", "problem", "queued",
    "rejected", "source", "source_value",
}  # fmt: skip
DELIVERY_FILES = (
    "telemetry-spool.log", "telemetry-spool.lock", "telemetry-state.json", "telemetry-sender.lock",
    "telemetry-sent.jsonl",
)  # fmt: skip


def status_json(cli: Cli, env: dict[str, str]) -> dict[str, object]:
    """`telemetry status --json`, parsed."""
    result = run_cli(["telemetry", "status", "--json"], env, cli=cli.kind)
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_status_before_anything(cli: Cli, home: Path, env: dict[str, str]) -> None:
    """A fresh install: on by default, no ID yet, nothing queued, every file named, none made."""
    answer = status_json(cli, env)
    assert set(answer) == STATUS_KEYS
    assert (answer["enabled"], answer["source"], answer["installation_id"]) == (
        True, "default", None,
    )  # fmt: skip
    assert (answer["queued"], answer["dropped"], answer["last_delivery"]) == (0, 0, None)
    directory = platform_dir(home)
    expected = [str(directory / name) for name in ("config.json", "config.json.lock")]
    expected += [str(directory / name) for name in DELIVERY_FILES]
    assert answer["files"] == expected
    assert not directory.exists()


def test_status_text_proves_the_state(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """The human status names the state, its source, the ID, endpoint, queue, files, opt-outs."""
    run_cli(cli.ok_argv, env, cli=cli.kind)
    wait_for_sender(seeded)
    result = run_cli(["telemetry", "status"], env, cli=cli.kind)
    assert result.returncode == 0
    text = result.stdout
    for expected in (
        "on (the default",
        str(read_config(seeded)["installation_id"]),
        env["YOUR_PLATFORM_TELEMETRY_ENDPOINT"],
        "Queued events:   1",
        "Dropped events:  0",
        "Last delivery:   never",
        str(platform_dir(seeded) / "config.json"),
        str(platform_dir(seeded) / "telemetry-spool.log"),
        f"`{cli.name} telemetry disable`",
        "YOUR_PLATFORM_TELEMETRY_OPT_OUT=1",
        "DO_NOT_TRACK=1",
    ):
        assert expected in text


def test_status_under_an_opt_out(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """With the variable set, status says off and names the variable that decided."""
    answer = status_json(cli, {**env, "YOUR_PLATFORM_TELEMETRY_OPT_OUT": "1"})
    assert (answer["enabled"], answer["source"]) == (False, "YOUR_PLATFORM_TELEMETRY_OPT_OUT")
    assert answer["source_value"] == "1"
    assert answer["installation_id"] == read_config(seeded)["installation_id"]
    text = run_cli(["telemetry", "status"], {**env, "DO_NOT_TRACK": "1"}, cli=cli.kind).stdout
    assert text.startswith("Telemetry:") and "off (DO_NOT_TRACK=1 is set" in text


def test_disable_purges_the_queue_and_sends_nothing(
    cli: Cli, seeded: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """disable: remembered, queued events deleted (and counted), no socket, no process."""
    for _ in range(3):
        run_cli(cli.ok_argv, env, cli=cli.kind)
    wait_for_sender(seeded)
    assert len(spooled_events(seeded)) == 3
    log = tmp_path / "audit.log"
    result = run_cli(["telemetry", "disable"], audit_env(env, log), cli=cli.kind)
    assert result.returncode == 0, result.stderr
    assert "Deleted 3 queued events" in result.stdout
    assert spooled_events(seeded) == []
    assert read_config(seeded)["telemetry"] == {"notice_shown": True, "enabled": False}
    kinds = {event for event, _ in audit_events(log)}
    assert not kinds & {
        "socket.connect",
        "socket.getaddrinfo",
        "os.posix_spawn",
        "subprocess.Popen",
    }
    answer = status_json(cli, env)
    assert (answer["enabled"], answer["source"], answer["queued"]) == (False, "config", 0)
    run_cli(cli.ok_argv, env, cli=cli.kind)
    assert spooled_events(seeded) == []  # and runs record nothing now


def test_enable_after_disable(cli: Cli, seeded: Path, env: dict[str, str]) -> None:
    """enable: remembered; runs record again."""
    run_cli(["telemetry", "disable"], env, cli=cli.kind)
    result = run_cli(["telemetry", "enable"], env, cli=cli.kind)
    assert result.returncode == 0
    assert "Telemetry enabled" in result.stdout
    run_cli(cli.ok_argv, env, cli=cli.kind)
    assert [event["command"] for event in spooled_events(seeded)] == [cli.ok_command]
    assert status_json(cli, env)["source"] == "config"


def test_enable_under_do_not_track_says_it_stays_off(
    cli: Cli, home: Path, env: dict[str, str]
) -> None:
    """enable with DO_NOT_TRACK set saves the choice but says the variable still wins."""
    result = run_cli(["telemetry", "enable"], {**env, "DO_NOT_TRACK": "1"}, cli=cli.kind)
    assert result.returncode == 0
    assert "stays off while DO_NOT_TRACK is set" in result.stdout
    assert read_config(home)["telemetry"] == {"enabled": True}


def test_run_function_contract(make_telemetry: Callable[..., Telemetry], home: Path) -> None:
    """run() returns (text, code): JSON for --json, 2 for an unknown action, 1 when unsaveable."""
    telemetry = make_telemetry()
    text, code = run(telemetry, "disable", as_json=True)
    assert code == 0 and json.loads(text)["enabled"] is False
    text, code = run(telemetry, "purge")
    assert code == 2 and "unknown" in text
    (platform_dir(home) / "config.json").write_text("[]")
    text, code = run(telemetry, "enable")
    assert code == 1 and "not a JSON object" in text and "\n" not in text
    assert isinstance(telemetry.status(), TelemetryStatus)
    assert telemetry.status().as_dict()["source"] == "config unreadable"
