"""A hand-written CLI (no framework) recording with `telemetry.session`, as a CLI author would."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from candor.testing import capture_events

if TYPE_CHECKING:
    from candor.client import Telemetry

USAGE = "usage: acme {build,clean} [options]"


def handwritten_main(telemetry: Telemetry, argv: list[str]) -> int:
    """A dispatcher written by hand: the session learns the command once argv is understood."""
    with telemetry.session() as session:
        commands = {"build": build, "clean": clean}
        if not argv or argv[0] not in commands:
            print(USAGE, file=sys.stderr)
            session.command = telemetry.cli_name  # only declared names, never argv[0]
            session.fail("usage_error")
            return 2
        session.command = argv[0]
        return commands[argv[0]](argv[1:])


def build(args: list[str]) -> int:
    print(f"built {len(args)} targets")
    return 0


def clean(args: list[str]) -> int:
    raise PermissionError("cannot remove build/")


def test_a_handwritten_dispatcher_records_each_outcome(telemetry: Telemetry) -> None:
    """Success, usage error and an exception, each as one event named from the declared set."""
    with capture_events(telemetry) as events:
        assert handwritten_main(telemetry, ["build", "/home/alice/secret-project"]) == 0
        assert handwritten_main(telemetry, ["/home/alice/oops"]) == 2
        with pytest.raises(PermissionError):
            handwritten_main(telemetry, ["clean"])
    assert [(e["command"], e["error_code"]) for e in events] == [
        ("build", None),
        ("acme", "usage_error"),
        ("clean", "internal_error"),
    ]


def test_the_decorator_form_records_every_call(telemetry: Telemetry) -> None:
    """`@telemetry.session("sync")` makes each call of the function one recorded run."""

    @telemetry.session("sync")
    def sync(count: int) -> int:
        if count < 0:
            raise SystemExit(3)
        return count

    with capture_events(telemetry) as events:
        assert sync(2) == 2
        with pytest.raises(SystemExit) as exit_:
            sync(-1)
    assert exit_.value.code == 3
    assert [(e["command"], e["status"]) for e in events] == [
        ("sync", "success"),
        ("sync", "failure"),
    ]
