"""your-cli's commands as a user runs them: output, exit status, and the event each would send.

Events are read from the debug mode (YOUR_PLATFORM_TELEMETRY_DEBUG=1), which prints the exact
JSON instead of sending it.
"""

from __future__ import annotations

import tarfile
from typing import TYPE_CHECKING

import pytest

from candor.schema import FIELD_NAMES, validate_event
from tests.support.cli import debug_run, run_cli

if TYPE_CHECKING:
    from pathlib import Path


def check_event(event: dict[str, object] | None, command: str, error_code: str | None) -> None:
    """A valid nine-key event for `command` with `error_code` (None: success)."""
    assert event is not None
    assert tuple(event) == FIELD_NAMES
    assert validate_event(event) == []
    assert (event["command"], event["error_code"]) == (command, error_code)
    assert event["cli_version"] == "0.2.1"


def user_stderr(stderr: str) -> list[str]:
    """The lines of stderr that are the CLI's own, without telemetry's debug lines."""
    return [
        line
        for line in stderr.splitlines()
        if not line.startswith(("your-cli telemetry debug", "{"))
    ]


def test_version_prints_and_records_nothing(home: Path) -> None:
    """`--version` prints "your-cli, version 0.2.1" and is not a command run."""
    result, event = debug_run("--version", home=home)
    assert (result.returncode, result.stdout) == (0, "your-cli, version 0.2.1\n")
    assert event is None


def test_info_is_trivial_and_recorded(home: Path) -> None:
    """`info` prints the version and the platform and records "info"."""
    result, event = debug_run("info", home=home)
    assert result.returncode == 0
    assert result.stdout == "your-cli 0.2.1\nplatform: your-platform\n"
    check_event(event, "info", None)


def test_build_packs_the_project(project: Path) -> None:
    """`build` with a valid manifest writes dist/NAME-VERSION.tar.gz and records success."""
    result, event = debug_run("build", home=project.parent, cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "Built dist/hello-web-1.4.0.tar.gz"
    with tarfile.open(project / "dist" / "hello-web-1.4.0.tar.gz") as tar:
        assert tar.getnames() == ["hello-web-1.4.0/your-platform.toml"]
    check_event(event, "build", None)


@pytest.mark.parametrize(
    ("manifest", "error_code", "message"),
    [
        (None, "manifest_not_found", "no your-platform.toml in this directory"),
        ('name = "x"\nversion = 1.0.0\n', "invalid_manifest", "is not valid TOML"),
        ("name = [unclosed\n", "invalid_manifest", "is not valid TOML"),
        ('name = "hello-web"\n', "invalid_manifest", "lacks the required key 'version'"),
        ('version = "1.0"\n', "invalid_manifest", "lacks the required key 'name'"),
        ('name = 7\nversion = "1.0"\n', "invalid_manifest", "'name' must be a non-empty string"),
    ],
    ids=["missing", "bad-value", "unclosed", "no-version", "no-name", "not-a-string"],
)
def test_build_failures_have_a_code_and_one_clear_line(
    home: Path, manifest: str | None, error_code: str, message: str
) -> None:
    """A missing or bad manifest: exit 1, one "Error: ..." line, no traceback, a declared code."""
    if manifest is not None:
        (home / "your-platform.toml").write_text(manifest)
    result, event = debug_run("build", home=home)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = user_stderr(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    assert "Traceback" not in result.stderr
    check_event(event, "build", error_code)


def test_deploy_records_deploy_and_nothing_typed_after_it(project: Path) -> None:
    """`deploy build --env ... --force --dry-run` records "deploy" only, and succeeds."""
    result, event = debug_run(
        "deploy", "build", "--env", "API_TOKEN=hunter2", "--force", "--dry-run",
        home=project.parent, cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Deploying hello-web 1.4.0 to build (dry run")
    assert "hunter2" not in result.stdout  # variable names are shown, never values
    check_event(event, "deploy", None)
    assert "hunter2" not in str(event) and "build" not in str(event)


@pytest.mark.parametrize(
    ("argv", "status", "error_code"),
    [
        (("deploy", "staging"), 0, None),
        (("deploy", "production"), 1, "confirmation_required"),
        (("deploy", "production", "--force"), 0, None),
        (("deploy", "staging", "--env", "not-a-pair"), 2, "usage_error"),
        (("deploy",), 2, "usage_error"),
        (("deploy", "staging", "--bogus"), 2, "usage_error"),
    ],
)
def test_deploy_outcomes(
    project: Path, argv: tuple[str, ...], status: int, error_code: str | None
) -> None:
    """deploy's exit status and error code for each outcome."""
    result, event = debug_run(*argv, home=project.parent, cwd=project)
    assert result.returncode == status, result.stderr
    check_event(event, "deploy", error_code)
    assert "Traceback" not in result.stderr


def test_db_migrate_records_the_nested_path(home: Path) -> None:
    """`db migrate` records "db migrate"; an unknown db subcommand is a usage error of "db"."""
    result, event = debug_run("db", "migrate", home=home)
    assert result.returncode == 0
    assert result.stdout.endswith("Database up to date (3 migrations applied).\n")
    check_event(event, "db migrate", None)
    result, event = debug_run("db", "rollback", home=home)
    assert result.returncode == 2
    check_event(event, "db", "usage_error")


def test_init_writes_a_manifest_build_accepts(home: Path) -> None:
    """`init` writes a starter manifest named after the directory; a second init refuses."""
    project = home / "My Shop"
    project.mkdir()
    result, event = debug_run("init", home=home, cwd=project)
    assert result.returncode == 0
    assert 'name = "my-shop"' in (project / "your-platform.toml").read_text()
    check_event(event, "init", None)
    assert run_cli("build", home=home, cwd=project).returncode == 0
    result, event = debug_run("init", home=home, cwd=project)
    assert result.returncode == 1
    assert user_stderr(result.stderr) == [
        "Error: your-platform.toml already exists (use --force to overwrite it)"
    ]
    check_event(event, "init", "manifest_exists")
    result, event = debug_run("init", "--name", "Not A Slug", home=home, cwd=project)
    assert result.returncode == 2
    check_event(event, "init", "usage_error")


def test_a_usage_error_before_any_command_is_recorded_under_the_cli_name(home: Path) -> None:
    """`your-cli --bogus` exits 2 and records "your-cli" with usage_error."""
    result, event = debug_run("--bogus", home=home)
    assert result.returncode == 2
    assert any(
        line.startswith("Error: ") and "--bogus" in line for line in result.stderr.splitlines()
    )
    check_event(event, "your-cli", "usage_error")
    result, event = debug_run("deplyo", "staging", home=home)
    assert result.returncode == 2
    check_event(event, "your-cli", "usage_error")


def test_help_lists_every_command_and_records_nothing(home: Path) -> None:
    """`--help` shows the commands, including telemetry, and sends nothing."""
    result, event = debug_run("--help", home=home)
    assert result.returncode == 0
    commands = result.stdout.split("Commands:")[1].split()
    for name in ("build", "db", "deploy", "info", "init", "telemetry"):
        assert name in commands
    assert event is None
