"""`candor.integrations.typer`: a Typer app keeps its output and records the right events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner  # Typer's runner rebuilds the tree from a Typer app

from candor.testing import capture_events

if TYPE_CHECKING:
    from candor.client import Telemetry

typer = pytest.importorskip("typer")
instrument = pytest.importorskip("candor.integrations.typer").instrument


class OutOfCredit(Exception):
    """A failure the app declares an error code for."""


def make_typer_app() -> typer.Typer:
    """A Typer program with a nested sub-app and a few endings."""
    app = typer.Typer(name="acme", add_completion=False, pretty_exceptions_enable=False)
    db = typer.Typer()
    app.add_typer(db, name="db")

    @app.command()
    def deploy(target: str, count: int = 1) -> None:
        """Deploy TARGET."""
        typer.echo(f"deploying {target} x{count}")

    @app.command()
    def pay() -> None:
        """Fail with a declared error."""
        raise OutOfCredit("no credit left")

    @app.command()
    def leave(code: int) -> None:
        """Leave with typer.Exit(CODE)."""
        raise typer.Exit(code)

    @app.command()
    def interrupt() -> None:
        """Behave as if the user pressed Ctrl-C."""
        raise KeyboardInterrupt

    @db.command()
    def migrate() -> None:
        """Migrate the database."""
        typer.echo("migrated")

    return app


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["deploy", "web", "--count", "2"], [("deploy", None)]),
        (["deploy"], [("deploy", "usage_error")]),
        (["deploy", "web", "--count", "x"], [("deploy", "usage_error")]),
        (["pay"], [("pay", "out_of_credit")]),
        (["leave", "0"], [("leave", None)]),
        (["leave", "3"], [("leave", "internal_error")]),
        (["interrupt"], [("interrupt", "interrupted")]),
        (["db", "migrate"], [("db migrate", None)]),
        (["nope"], [("acme", "usage_error")]),
        (["--help"], []),
        (["db", "--help"], []),
    ],
)
def test_a_typer_app_behaves_the_same_and_records_the_right_event(
    telemetry: Telemetry, argv: list[str], expected: list[tuple[str, str | None]]
) -> None:
    """Instrumented through typer.main.get_command: identical results, declared names recorded."""
    telemetry.declare_error(OutOfCredit, "out_of_credit")
    runner = CliRunner()
    plain = runner.invoke(typer.main.get_command(make_typer_app()), argv)
    app = instrument(make_typer_app(), telemetry)
    with capture_events(telemetry) as events:
        instrumented = runner.invoke(app, argv)
    assert instrumented.exit_code == plain.exit_code
    assert type(instrumented.exception) is type(plain.exception)
    if argv != ["--help"]:  # the root's help lists the added `telemetry` group
        assert instrumented.stdout == plain.stdout
        assert instrumented.stderr == plain.stderr
    assert [(e["command"], e["error_code"]) for e in events] == expected


def test_the_telemetry_sub_app_answers_and_records_nothing(telemetry: Telemetry) -> None:
    """`telemetry status --json` and `telemetry disable` work in a Typer app, unrecorded."""
    app = instrument(make_typer_app(), telemetry)
    runner = CliRunner()
    with capture_events(telemetry) as events:
        disabled = runner.invoke(app, ["telemetry", "disable"])
        status = runner.invoke(app, ["telemetry", "status", "--json"])
        listed = runner.invoke(app, ["--help"])
    assert (disabled.exit_code, status.exit_code, listed.exit_code) == (0, 0, 0)
    assert json.loads(status.stdout)["enabled"] is False
    assert "telemetry" in listed.stdout
    assert events == []


def test_the_telemetry_sub_app_is_made_only_when_a_run_asks_for_it(telemetry: Telemetry) -> None:
    """Making the sub-app costs a run ~0.8 ms: a run of another command never makes it; the
    root's help lists it and `telemetry status` reaches it, as before."""
    app = instrument(make_typer_app(), telemetry)
    runner = CliRunner()
    with capture_events(telemetry) as events:
        deployed = runner.invoke(app, ["deploy", "web"])
        made_by_deploy = "telemetry" in app.commands
        listed = runner.invoke(app, ["--help"])
    status = runner.invoke(
        instrument(make_typer_app(), telemetry), ["telemetry", "status", "--json"]
    )
    assert (deployed.exit_code, listed.exit_code, status.exit_code) == (0, 0, 0)
    assert not made_by_deploy
    assert "telemetry" in listed.stdout
    assert "telemetry" in app.commands  # made by the help's listing, once
    assert isinstance(json.loads(status.stdout)["enabled"], bool)
    assert [(e["command"], e["error_code"]) for e in events] == [("deploy", None)]


def test_a_single_command_app_is_refused(telemetry: Telemetry) -> None:
    """A Typer app with one command builds no group: a TypeError pointing at sessions."""
    app = typer.Typer()
    app.command()(lambda: None)
    with pytest.raises(TypeError, match=r"telemetry\.session"):
        instrument(app, telemetry)
