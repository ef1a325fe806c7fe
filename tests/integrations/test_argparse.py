"""`instrument()` for argparse: the recorded event, and the plain program's output and status."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

import pytest

from candor.client import Telemetry
from candor.integrations.argparse import instrument
from candor.testing import capture_events
from tests.integrations.apps import APP_NAME, make_argparse_app, plain_main
from tests.integrations.checks import Expected, assert_recorded

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

Outcome = tuple[object, str, str]  # (exit status or exception, stdout, stderr)


def outcome(capsys: pytest.CaptureFixture[str], run: Callable[[], int]) -> Outcome:
    """How a run ended (its return or SystemExit code, or the exception) and what it printed."""
    ended: object
    try:
        ended = run()
    except SystemExit as exit_:
        ended = ("exit", exit_.code)
    except BaseException as exc:
        ended = (type(exc), str(exc))
    captured = capsys.readouterr()
    return ended, captured.out, captured.err


def without_telemetry_entry(text: str) -> str:
    """`text` minus what the added `telemetry` subcommand contributes to usage and help."""
    text = text.replace(",telemetry}", "}").replace(", 'telemetry')", ")")
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("    telemetry ")
    )


def run_both(
    telemetry: Telemetry, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> tuple[Outcome, Outcome, list[dict[str, object]]]:
    """Run `argv` through the plain program and the instrumented one."""
    parser = make_argparse_app()
    plain = outcome(capsys, lambda: plain_main(parser, argv))
    main = instrument(make_argparse_app(), telemetry)
    with capture_events(telemetry) as events:
        instrumented = outcome(capsys, lambda: main(argv))
    return plain, instrumented, events


CASES: list[tuple[list[str], Expected]] = [
    (["deploy", "web", "--count", "2"], ("deploy", None)),
    (["ship", "web", "--token", "s3cret"], ("deploy", None)),  # an alias: the declared name
    (["deploy"], ("deploy", "usage_error")),  # missing argument, found by the subparser
    (["deploy", "web", "--count", "many"], ("deploy", "usage_error")),
    (["deploy", "web", "--bogus"], ("deploy", "usage_error")),  # left over, found by the root
    (["--bogus"], (APP_NAME, "usage_error")),
    (["depoly", "web"], (APP_NAME, "usage_error")),  # no such command
    ([], (APP_NAME, "usage_error")),  # the subcommand is required
    (["config"], ("config", "config_missing")),  # declared exception
    (["crash"], ("crash", "internal_error")),  # undeclared exception
    (["interrupt"], ("interrupt", "interrupted")),  # Ctrl-C
    (["status", "0"], ("status", None)),
    (["status", "5"], ("status", "internal_error")),  # a non-zero return
    (["db", "migrate", "--to", "r42"], ("db migrate", None)),
    (["db", "migrate"], ("db migrate", "usage_error")),  # missing option, two levels down
    (["db"], ("db", "usage_error")),
    (["db", "migrat"], ("db", "usage_error")),
    (["--help"], None),
    (["deploy", "--help"], None),
    (["db", "migrate", "--help"], None),
    (["--version"], None),
]


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(c[0]) or "-" for c in CASES])
def test_same_output_and_exit_status_and_the_right_event(
    telemetry: Telemetry,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    expected: Expected,
) -> None:
    """Each way a run ends keeps the plain program's output and status, and records the event."""
    plain, instrumented, events = run_both(telemetry, capsys, argv)
    assert instrumented[0] == plain[0]
    assert without_telemetry_entry(instrumented[1]) == plain[1]
    assert without_telemetry_entry(instrumented[2]) == plain[2]
    assert_recorded(events, expected)


def test_the_handler_never_sees_telemetrys_attribute(
    telemetry: Telemetry, capsys: pytest.CaptureFixture[str]
) -> None:
    """The namespace handed to the handler holds the program's own attributes only."""
    main = instrument(make_argparse_app(), telemetry)
    assert main(["db", "migrate", "--to", "r1"]) == 0
    printed = capsys.readouterr().out.splitlines()[-1]
    assert printed == str(sorted(["command", "db_command", "func", "revision"]))


def test_an_argument_named_like_a_command_is_not_recorded(telemetry: Telemetry) -> None:
    """`deploy db` records "deploy": a value is never part of the command."""
    main = instrument(make_argparse_app(), telemetry)
    with capture_events(telemetry) as events:
        assert main(["deploy", "db", "--token", "migrate"]) == 0
    assert [event["command"] for event in events] == ["deploy"]


def test_telemetry_commands_answer_and_record_nothing(
    telemetry: Telemetry, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    """`telemetry status --json`, `disable`, `enable` print their answer and record nothing."""
    main = instrument(make_argparse_app(), telemetry)
    with capture_events(telemetry) as events:
        assert main(["telemetry", "status", "--json"]) == 0
        before = json.loads(capsys.readouterr().out)
        assert main(["telemetry", "disable"]) == 0
        assert "disabled" in capsys.readouterr().out.lower()
        assert main(["telemetry", "status", "--json"]) == 0
        after = json.loads(capsys.readouterr().out)
        assert main(["telemetry", "enable"]) == 0
    assert events == []
    assert (before["enabled"], after["enabled"], after["source"]) == (True, False, "config")
    assert (home / ".acme" / "config.json").exists()


def test_a_commands_added_after_instrument_is_recorded(telemetry: Telemetry) -> None:
    """Subparsers declared after instrument() are tracked too."""
    parser = make_argparse_app()
    main = instrument(parser, telemetry)
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    subparsers.add_parser("late").set_defaults(func=lambda args: None)
    with capture_events(telemetry) as events:
        assert main(["late"]) == 0
    assert [event["command"] for event in events] == ["late"]


def test_instrumenting_again_returns_the_same_program(telemetry: Telemetry, home: Path) -> None:
    """A second instrument() rebinds to the new Telemetry and adds no second subcommand."""
    parser = make_argparse_app()
    first = instrument(parser, telemetry)
    other = Telemetry("acme", APP_NAME, "9.9.9", "https://t.acme.example/v1/event",
                      "https://acme.example/telemetry", environ={}, home=str(home))  # fmt: skip
    assert instrument(parser, other) is first
    with capture_events(other) as events:
        first(["status", "0"])
    assert [event["cli_version"] for event in events] == ["9.9.9"]


def test_instrument_needs_subcommands(telemetry: Telemetry) -> None:
    """A parser without subcommands is refused with a pointer to telemetry.session."""
    with pytest.raises(TypeError, match=r"telemetry\.session"):
        instrument(argparse.ArgumentParser(prog="single"), telemetry)


def test_optional_subcommands_without_one_is_a_usage_error(
    telemetry: Telemetry, capsys: pytest.CaptureFixture[str]
) -> None:
    """With optional subparsers and none given, the program exits 2 and records usage_error."""
    parser = argparse.ArgumentParser(prog="opt")
    parser.add_subparsers().add_parser("go").set_defaults(func=lambda args: 0)
    main = instrument(parser, telemetry)
    with capture_events(telemetry) as events, pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "a command is required" in capsys.readouterr().err
    assert_recorded(events, (APP_NAME, "usage_error"))
