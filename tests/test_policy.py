"""The generated policy: its table matches what the client really sends, and its promises hold."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from candor.cli.policy import main as policy_main
from candor.client.consent import env_prefix as client_env_prefix
from candor.policy import env_prefix, render_policy, table_cell, table_row
from candor.schema import CI_VARIABLES, FIELD_NAMES, FIELDS, NOT_COLLECTED
from tests.support.cli import debug_run, run_cli

CANDOR = str(Path(sys.executable).with_name("candor"))
SEED_HEADINGS = (
    "CLI Telemetry Policy", "Our Guiding Principles", "What We Collect",
    "What We DO NOT Collect", "The Anonymous `installation_id`", "How to Control Telemetry",
    "First-Run Notice", "Disabling Telemetry", "Where the Data Goes",
)  # fmt: skip
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every row of the policy's (single) table, header and separator included."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    rows = []
    for line in lines:
        assert line.endswith("|"), line
        cells = UNESCAPED_PIPE.split(line)[1:-1]
        rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


def sh_commands(markdown: str) -> list[str]:
    """The shell commands of the policy's ```sh blocks (comments left out)."""
    blocks = re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line and line[0] != "#"]


def snapshot(directory: Path) -> dict[Path, bytes | None]:
    """Every path below `directory` with its content (None for a directory)."""
    return {p: None if p.is_dir() else p.read_bytes() for p in sorted(directory.rglob("*"))}


def test_the_table_lists_exactly_the_keys_your_cli_sends(home: Path) -> None:
    """The Data Point column equals the keys of a real event from `your-cli` (debug output)."""
    _, event = debug_run("info", home=home)
    assert event is not None
    rows = table_rows(render_policy())
    assert rows[0] == ["Data Point", "Description", "Example"]
    assert all(set(cell) <= set("-: ") for cell in rows[1])
    listed = [row[0].strip("`") for row in rows[2:]]
    assert listed == list(event) == list(FIELD_NAMES)


def test_the_table_is_valid_markdown_with_the_schemas_words() -> None:
    """Three cells per row; each description and example is the schema's, with the CLI's name."""
    rows = table_rows(render_policy(cli="acme"))
    assert {len(row) for row in rows} == {3}
    for field, (name, description, example) in zip(FIELDS, rows[2:], strict=True):
        assert name == f"`{field.name}`"
        assert description == field.description.replace("{cli}", "acme")
        assert json.loads(example.strip("`")) == field.example
    assert "from acme --version" in rows[2 + FIELD_NAMES.index("cli_version")][1]


def test_a_pipe_in_a_cell_does_not_break_the_table() -> None:
    """table_cell escapes pipes and folds lines, so a row keeps its three cells."""
    row = table_row(["a|b", "line one\nline two", "back\\slash"])
    cells = UNESCAPED_PIPE.split(row)[1:-1]
    assert [cell.strip() for cell in cells] == ["a\\|b", "line one line two", "back\\\\slash"]
    assert table_cell("x | y") == "x \\| y"


def test_every_promise_is_stated() -> None:
    """Opt-out commands, variables, status, debug, endpoint, config path, never-collected list."""
    policy = render_policy()
    for promise in (
        "your-cli telemetry disable",
        "`your-cli telemetry enable`",
        "YOUR_PLATFORM_TELEMETRY_OPT_OUT=1 your-cli deploy",
        "DO_NOT_TRACK=1",
        "`your-cli telemetry status`",
        "YOUR_PLATFORM_TELEMETRY_DEBUG=1 your-cli",
        "(https://telemetry.your-platform.com/v1/event)",
        "`~/.your-platform/config.json`",
        "Version 4 UUID",
        "That first run sends nothing",
        "in batches",
        "`candor.client` module",
    ):
        assert promise in policy, promise
    for heading, detail in NOT_COLLECTED:
        assert f"**{heading}" in policy
        assert detail in policy
    for name in CI_VARIABLES:
        assert f"`{name}`" in policy


def test_the_structure_follows_the_published_policy() -> None:
    """The seed policy's headings all appear as Markdown headings, in the seed's order."""
    prose = re.sub(r"```.*?```", "", render_policy(), flags=re.DOTALL)
    headings = [line.lstrip("#").strip() for line in prose.splitlines() if line[:1] == "#"]
    positions = [headings.index(heading) for heading in SEED_HEADINGS]
    assert positions == sorted(positions)


def test_another_cli_gets_its_own_names_everywhere() -> None:
    """cli, platform, endpoint and source module are substituted; no your-cli text remains."""
    policy = render_policy(
        cli="acme",
        platform="acme-cloud",
        endpoint="https://t.acme.dev/v1/event",
        source_module="acme.telemetry",
    )
    for text in (
        "acme telemetry disable",
        "ACME_CLOUD_TELEMETRY_OPT_OUT=1 acme deploy",
        "ACME_CLOUD_TELEMETRY_DEBUG=1 acme",
        "`~/.acme-cloud/config.json`",
        "(https://t.acme.dev/v1/event)",
        "`acme.telemetry` module",
    ):
        assert text in policy, text
    assert "your-" not in policy.lower()
    assert "YOUR_PLATFORM" not in policy


@pytest.mark.parametrize("platform", ["your-platform", "acme", "a.b-c_d", "X9"])
def test_the_variable_prefix_is_the_clients(platform: str) -> None:
    """The policy names the same variables the client reads."""
    assert env_prefix(platform) == client_env_prefix(platform)


@pytest.mark.parametrize(
    "arguments",
    [
        {"endpoint": "http://telemetry.example.com/v1/event"},
        {"endpoint": "https://example.com/ v1"},
        {"platform": "../etc"},
        {"platform": ""},
        {"cli": "two words"},
    ],
)
def test_a_policy_that_would_be_false_is_refused(arguments: dict[str, str]) -> None:
    """A plain-http endpoint (the policy promises HTTPS) or an unusable name is a ValueError."""
    with pytest.raises(ValueError):
        render_policy(**arguments)


def test_candor_policy_prints_the_generated_policy() -> None:
    """`candor policy` exits 0 and prints render_policy()'s text for the given options."""
    argv = ["policy", "--cli", "acme", "--platform", "acme-cloud"]
    result = subprocess.run(
        [CANDOR, *argv, "--endpoint", "https://t.acme.dev/v1/event"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stdout == render_policy(
        cli="acme", platform="acme-cloud", endpoint="https://t.acme.dev/v1/event"
    )
    assert result.stderr == ""


def test_candor_policy_defaults_to_your_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """Without options the policy is your-cli's."""
    assert policy_main([]) == 0
    assert capsys.readouterr().out == render_policy()


def test_candor_policy_rejects_a_bad_endpoint_in_one_line() -> None:
    """A plain-http endpoint: exit 2, one line on stderr, no traceback, nothing on stdout."""
    result = subprocess.run(
        [CANDOR, "policy", "--endpoint", "http://example.com/v1/event"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("candor policy: the endpoint must be an https:// URL")
    assert len(result.stderr.splitlines()) == 1


def test_every_command_the_policy_shows_does_what_it_says(home: Path) -> None:
    """Run each documented command on your-cli: disable, OPT_OUT and DEBUG behave as written."""
    commands = sh_commands(render_policy())
    assert len(commands) == 3
    config = home / ".your-platform" / "config.json"
    for line in commands:
        words = shlex.split(line)
        env = dict(word.split("=", 1) for word in words if "=" in word)
        argv = [word for word in words if "=" not in word]
        assert argv[0] == "your-cli"
        before = snapshot(home)
        result = run_cli(*argv[1:], home=home, env=env)
        assert "Traceback" not in result.stderr
        if argv[1:] == ["telemetry", "disable"]:
            assert result.returncode == 0
            assert json.loads(config.read_text())["telemetry"]["enabled"] is False
            config.unlink()  # back to a machine that never chose
            continue
        # Opted out, or in debug mode: not a file created or changed.
        assert snapshot(home) == before
        if env != {"YOUR_PLATFORM_TELEMETRY_OPT_OUT": "1"}:
            assert env == {"YOUR_PLATFORM_TELEMETRY_DEBUG": "1"}
            printed = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
            assert [list(event) for event in printed] == [list(FIELD_NAMES)]
