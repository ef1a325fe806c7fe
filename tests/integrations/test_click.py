"""`instrument()` for Click: the event each run records, and output identical to the plain app."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner, Result

from candor.client import Telemetry
from candor.integrations.click import instrument
from candor.testing import capture_events
from tests.integrations.apps import APP_NAME, ERROR_CODES, make_click_app
from tests.integrations.checks import Expected, assert_recorded

if TYPE_CHECKING:
    from pathlib import Path


def run_both(
    telemetry: Telemetry, argv: list[str]
) -> tuple[Result, Result, list[dict[str, object]]]:
    """Run `argv` through the plain app and the instrumented one; both results and the events."""
    runner = CliRunner()
    plain = runner.invoke(make_click_app(), argv)
    app = instrument(make_click_app(), telemetry)
    with capture_events(telemetry) as events:
        instrumented = runner.invoke(app, argv)
    return plain, instrumented, events


def without_telemetry_entry(text: str) -> str:
    """`text` minus the line the added `telemetry` group contributes to a command list."""
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("  telemetry ")
    )


def assert_same_behaviour(plain: Result, instrumented: Result) -> None:
    """Same exit status, stdout, stderr and exception (type and message) for both runs."""
    assert instrumented.exit_code == plain.exit_code
    assert without_telemetry_entry(instrumented.stdout) == plain.stdout
    assert without_telemetry_entry(instrumented.stderr) == plain.stderr
    assert type(instrumented.exception) is type(plain.exception)
    assert str(instrumented.exception) == str(plain.exception)


CASES: list[tuple[list[str], Expected]] = [
    (["deploy", "web", "--count", "2"], ("deploy", None)),
    (["--verbose", "deploy", "web", "--token", "s3cret"], ("deploy", None)),
    (["deploy"], ("deploy", "usage_error")),  # missing argument
    (["deploy", "web", "--count", "many"], ("deploy", "usage_error")),  # bad type
    (["deploy", "web", "--bogus"], ("deploy", "usage_error")),  # no such option
    (["deploy", "web", "extra"], ("deploy", "usage_error")),  # unexpected argument
    (["--bogus", "deploy", "web"], (APP_NAME, "usage_error")),  # before any subcommand
    (["depoly", "web"], (APP_NAME, "usage_error")),  # no such command
    (["quota"], ("quota", "quota_exceeded")),  # declared ClickException, exit 3
    (["crash"], ("crash", "internal_error")),  # undeclared exception
    (["exit-code", "0"], ("exit-code", None)),
    (["exit-code", "3"], ("exit-code", "internal_error")),
    (["sys-exit", "0"], ("sys-exit", None)),
    (["sys-exit", "4"], ("sys-exit", "internal_error")),
    (["interrupt"], ("interrupt", "interrupted")),  # Ctrl-C
    (["cancel"], ("cancel", "interrupted")),  # click.Abort
    (["resize", "--size", "11"], ("resize", "usage_error")),  # IntRange
    (["resize", "--size", "7"], ("resize", "usage_error")),  # BadParameter raised in the body
    (["resize"], ("resize", "usage_error")),  # missing required option
    (["db", "migrate", "--to", "abc123"], ("db migrate", None)),
    (["db", "migrat"], ("db", "usage_error")),
    (["--help"], None),
    (["deploy", "--help"], None),
    (["db", "--help"], None),
    (["db", "migrate", "--help"], None),
    (["--version"], None),
]


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_same_output_and_exit_status_and_the_right_event(
    telemetry: Telemetry, argv: list[str], expected: Expected
) -> None:
    """Each way a run ends keeps the plain app's output and status, and records the right event."""
    plain, instrumented, events = run_both(telemetry, argv)
    assert_same_behaviour(plain, instrumented)
    assert_recorded(events, expected)


def test_the_help_lists_the_added_telemetry_group(telemetry: Telemetry) -> None:
    """`--help` differs from the plain app's by exactly the `telemetry` line."""
    plain, instrumented, _ = run_both(telemetry, ["--help"])
    added = set(instrumented.stdout.splitlines()) - set(plain.stdout.splitlines())
    assert [line.split()[0] for line in added] == ["telemetry"]


@pytest.mark.parametrize("argv", [[], ["db"]], ids=["root", "db"])
def test_a_group_without_its_subcommand(telemetry: Telemetry, argv: list[str]) -> None:
    """A bare group shows help: a usage error if Click exits non-zero, else nothing recorded."""
    plain, instrumented, events = run_both(telemetry, argv)
    assert_same_behaviour(plain, instrumented)
    command = " ".join(argv) or APP_NAME
    assert_recorded(events, None if plain.exit_code == 0 else (command, "usage_error"))


def test_the_command_comes_from_the_declared_tree_never_argv(telemetry: Telemetry) -> None:
    """An argument named like a command, an alias and a normalised spelling record the name."""

    class Aliases(click.Group):
        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            return super().get_command(ctx, {"ship": "deploy"}.get(cmd_name, cmd_name))

    @click.group(name="tool", cls=Aliases, context_settings={"token_normalize_func": str.lower})
    def tool() -> None:
        """A tool."""

    @tool.command()
    @click.argument("target")
    def deploy(target: str) -> None:
        click.echo(target)

    @tool.command()
    def build() -> None:
        click.echo("built")

    instrument(tool, telemetry)
    runner = CliRunner()
    with capture_events(telemetry) as events:
        for argv in (["deploy", "build"], ["ship", "migrate"], ["DEPLOY", "x"], ["Ship", "y"]):
            assert runner.invoke(tool, argv).exit_code == 0
    assert [event["command"] for event in events] == ["deploy"] * 4


def test_commands_made_on_demand_are_recorded(telemetry: Telemetry) -> None:
    """A lazy group whose get_command builds (nested) commands is tracked as it resolves."""

    class Lazy(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return ["plugin"]

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            if cmd_name != "plugin":
                return None
            group = click.Group("plugin")
            group.add_command(click.Command("run", callback=lambda: click.echo("ran")))
            return group

    app = instrument(Lazy("lazy"), telemetry)
    with capture_events(telemetry) as events:
        result = CliRunner().invoke(app, ["plugin", "run"])
    assert (result.exit_code, result.stdout) == (0, "ran\n")
    assert_recorded(events, ("plugin run", None))


def test_a_chain_group_records_its_own_name(telemetry: Telemetry) -> None:
    """Chained subcommands are siblings, not a path: the chain group is the recorded command."""

    @click.group(name="pipeline", chain=True)
    def pipeline() -> None:
        """Run steps in order."""

    for step in ("fetch", "clean", "load"):
        pipeline.add_command(click.Command(step, callback=lambda s=step: click.echo(s)))

    instrument(pipeline, telemetry)
    with capture_events(telemetry) as events:
        result = CliRunner().invoke(pipeline, ["fetch", "clean", "load"])
    assert result.stdout == "fetch\nclean\nload\n"
    assert_recorded(events, ("pipeline", None))


def test_telemetry_commands_answer_and_record_nothing(telemetry: Telemetry, home: Path) -> None:
    """`telemetry status [--json]`, `disable`, `enable` print their answer and record nothing."""
    app = instrument(make_click_app(), telemetry)
    runner = CliRunner()
    with capture_events(telemetry) as events:
        status = runner.invoke(app, ["telemetry", "status", "--json"])
        disabled = runner.invoke(app, ["telemetry", "disable"])
        after = runner.invoke(app, ["telemetry", "status", "--json"])
        enabled = runner.invoke(app, ["telemetry", "enable"])
        text = runner.invoke(app, ["telemetry", "status"])
    assert events == []
    assert [r.exit_code for r in (status, disabled, after, enabled, text)] == [0] * 5
    assert json.loads(status.stdout)["enabled"] is True
    assert json.loads(after.stdout)["enabled"] is False
    assert json.loads(after.stdout)["source"] == "config"
    assert "disabled" in disabled.stdout.lower()
    assert "enabled" in enabled.stdout.lower()
    assert str(home / ".acme" / "config.json") in text.stdout
    assert status.stderr == disabled.stderr == ""


def test_a_telemetry_command_that_fails_says_why_on_stderr(tmp_path: Path) -> None:
    """When the choice cannot be saved, the reason goes to stderr and the exit status is 1."""
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    telemetry = Telemetry("acme", APP_NAME, "1.0", "https://t.acme.example/v1/event",
                          "https://acme.example/telemetry", environ={},
                          home=str(not_a_directory))  # fmt: skip
    result = CliRunner().invoke(instrument(make_click_app(), telemetry), ["telemetry", "disable"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{APP_NAME} telemetry disable: ")
    assert len(result.stderr.splitlines()) == 1


def test_without_standalone_mode_exceptions_and_exit_codes_pass_through(
    telemetry: Telemetry,
) -> None:
    """main(standalone_mode=False) raises or returns as Click does, and still records."""
    app = instrument(make_click_app(), telemetry)
    with capture_events(telemetry) as events:
        with pytest.raises(click.UsageError):
            app.main(["deploy"], standalone_mode=False)
        with pytest.raises(RuntimeError, match="boom"):
            app.main(["crash"], standalone_mode=False)
        assert app.main(["exit-code", "3"], standalone_mode=False) == 3
        assert app.main(["db", "migrate"], standalone_mode=False) is None
    recorded = [(e["command"], e["error_code"]) for e in events]
    assert recorded == [
        ("deploy", "usage_error"),
        ("crash", "internal_error"),
        ("exit-code", "internal_error"),
        ("db migrate", None),
    ]


def test_the_authors_own_code_for_click_errors_wins(telemetry: Telemetry) -> None:
    """A code declared for click.UsageError before instrument() is kept."""
    telemetry.declare_error(click.UsageError, "bad_invocation")
    _, _, events = run_both(telemetry, ["deploy"])
    assert_recorded(events, ("deploy", "bad_invocation"))


def test_instrumenting_again_rebinds_without_a_second_group(
    telemetry: Telemetry, home: Path
) -> None:
    """A second instrument() call sends events to the new Telemetry; one `telemetry` group."""
    app = instrument(make_click_app(), telemetry)
    other = Telemetry("acme", APP_NAME, "9.9.9", "https://t.acme.example/v1/event",
                      "https://acme.example/telemetry", environ={}, home=str(home))  # fmt: skip
    assert instrument(app, other) is app
    with capture_events(telemetry) as first, capture_events(other) as second:
        CliRunner().invoke(app, ["db", "migrate"])
    assert first == []
    assert [e["cli_version"] for e in second] == ["9.9.9"]
    assert list(app.commands).count("telemetry") == 1


def test_instrument_refuses_what_it_cannot_instrument(telemetry: Telemetry) -> None:
    """A lone command is a TypeError; a group with its own `telemetry` command a ValueError."""
    with pytest.raises(TypeError, match=r"telemetry\.session"):
        instrument(click.Command("single"), telemetry)  # type: ignore[arg-type]
    taken = click.Group("taken", commands=[click.Command("telemetry")])
    with pytest.raises(ValueError, match="already has"):
        instrument(taken, telemetry)


def test_a_group_shared_with_a_plain_program_stays_plain_there(telemetry: Telemetry) -> None:
    """A subgroup reused by an uninstrumented app records nothing when run through that app."""
    instrumented = make_click_app()
    shared = instrumented.commands["db"]
    plain = click.Group("plain", commands=[shared])
    instrument(instrumented, telemetry)
    runner = CliRunner()
    with capture_events(telemetry) as events:
        assert runner.invoke(instrumented, ["db", "migrate"]).exit_code == 0
        result = runner.invoke(plain, ["db", "migrate", "--to", "r1"])
    assert result.stdout == "migrated to r1\n"
    assert [e["command"] for e in events] == ["db migrate"]


def test_shell_completion_records_nothing(telemetry: Telemetry) -> None:
    """Answering the shell's tab completion is not a command run."""
    app = instrument(make_click_app(), telemetry)
    env = {"_ACME_COMPLETE": "bash_complete", "COMP_WORDS": "acme de", "COMP_CWORD": "1"}
    with capture_events(telemetry) as events:
        result = CliRunner().invoke(app, [], env=env, prog_name="acme")
    assert result.exit_code == 0
    assert "deploy" in result.stdout
    assert events == []


def test_a_chain_root_gets_a_single_telemetry_command(telemetry: Telemetry) -> None:
    """A chain-mode root cannot hold a group: `telemetry ACTION` works and records nothing."""

    @click.group(name="pipeline", chain=True)
    def pipeline() -> None:
        """Run steps in order."""

    pipeline.add_command(click.Command("fetch", callback=lambda: click.echo("fetched")))
    instrument(pipeline, telemetry)
    with capture_events(telemetry) as events:
        result = CliRunner().invoke(pipeline, ["telemetry", "--json", "status"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["enabled"] is True
    assert events == []


def opted_out_telemetry(home: Path, version: str = "1.0") -> Telemetry:
    return Telemetry("acme", APP_NAME, version, "https://t.acme.example/v1/event",
                     "https://acme.example/telemetry", error_codes=ERROR_CODES,
                     environ={"DO_NOT_TRACK": "1"}, home=str(home))  # fmt: skip


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_an_opted_out_program_behaves_alike_and_capture_still_sees_each_run(
    home: Path, argv: list[str], expected: Expected
) -> None:
    """Instrumented while DO_NOT_TRACK opts out (the light layer), the app behaves as the plain
    one, and `capture_events` (which ignores the opt-out) still gets the right event."""
    plain, instrumented, events = run_both(opted_out_telemetry(home), argv)
    assert_same_behaviour(plain, instrumented)
    assert_recorded(events, expected)


def test_an_opted_out_program_answers_telemetry_and_rebinds(home: Path) -> None:
    """Opted out: `telemetry status` says why and nothing is written; a rebind to a Telemetry
    that records follows the runs, with one `telemetry` group throughout."""
    app = instrument(make_click_app(), opted_out_telemetry(home))
    status = CliRunner().invoke(app, ["telemetry", "status", "--json"])
    assert status.exit_code == 0
    assert json.loads(status.stdout)["source"] == "DO_NOT_TRACK"
    assert CliRunner().invoke(app, ["db", "migrate"]).exit_code == 0
    assert not (home / ".acme").exists()
    other = Telemetry("acme", APP_NAME, "9.9.9", "https://t.acme.example/v1/event",
                      "https://acme.example/telemetry", environ={}, home=str(home))  # fmt: skip
    assert instrument(app, opted_out_telemetry(home)) is app  # still opted out: stays light
    assert instrument(app, other) is app
    with capture_events(other) as events:
        CliRunner().invoke(app, ["deploy"])
    assert [(e["cli_version"], e["error_code"]) for e in events] == [("9.9.9", "usage_error")]
    assert list(app.commands).count("telemetry") == 1
