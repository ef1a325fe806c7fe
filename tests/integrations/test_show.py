"""`telemetry show` in each integration: Click, Typer and argparse add it beside status."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from candor.client.spool import Spool
from candor.integrations.argparse import instrument as instrument_argparse
from candor.integrations.click import instrument as instrument_click
from candor.testing import capture_events
from tests.client.delivery.harness import make_event
from tests.integrations.apps import make_argparse_app, make_click_app

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from candor.client import Telemetry


def click_runner(telemetry: Telemetry) -> Callable[[list[str]], tuple[int, str, str]]:
    app = instrument_click(make_click_app(), telemetry)

    def run(argv: list[str]) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, argv)
        return result.exit_code, result.stdout, result.stderr

    return run


def typer_runner(telemetry: Telemetry) -> Callable[[list[str]], tuple[int, str, str]]:
    pytest.importorskip("typer")
    from candor.integrations.typer import instrument
    from tests.integrations.test_typer import make_typer_app

    app = instrument(make_typer_app(), telemetry)

    def run(argv: list[str]) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, argv)
        return result.exit_code, result.stdout, result.stderr

    return run


def argparse_runner(
    telemetry: Telemetry, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str]], tuple[int, str, str]]:
    main = instrument_argparse(make_argparse_app(), telemetry)

    def run(argv: list[str]) -> tuple[int, str, str]:
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(params=["click", "typer", "argparse"])
def runner(
    request: pytest.FixtureRequest, telemetry: Telemetry, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str]], tuple[int, str, str]]:
    """Run the sample app of each framework, instrumented, in process."""
    if request.param == "click":
        return click_runner(telemetry)
    if request.param == "typer":
        return typer_runner(telemetry)
    return argparse_runner(telemetry, capsys)


def test_show_lists_queued_events_newest_first(
    runner: Callable[[list[str]], tuple[int, str, str]], telemetry: Telemetry, home: Path
) -> None:
    """`telemetry show --json --limit 2`: the two newest queued events; the text form too."""
    spool = Spool(str(home / ".acme"))
    for number in range(3):
        spool.append(make_event(number))
    with capture_events(telemetry) as events:
        code, out, err = runner(["telemetry", "show", "--json", "--limit", "2"])
        text_code, text, _ = runner(["telemetry", "show"])
    assert events == []  # show records nothing
    assert (code, err) == (0, "")
    answer = json.loads(out)
    assert (answer["queued"], answer["sent"]) == (3, 0)
    assert [event["state"] for event in answer["events"]] == ["queued", "queued"]
    assert [event["event"]["duration_ms"] for event in answer["events"]] == [2, 1]
    assert all(event["acknowledged_at"] is None for event in answer["events"])
    assert all(event["recorded_at"] for event in answer["events"])
    assert text_code == 0
    assert text.count("queued, not sent yet") == 3


def test_show_refuses_a_limit_below_one(
    runner: Callable[[list[str]], tuple[int, str, str]],
) -> None:
    """`--limit 0` is a usage error (exit 2), said on stderr."""
    code, out, err = runner(["telemetry", "show", "--limit", "0"])
    assert code == 2
    assert out == ""
    assert "--limit" in err or "limit" in err
