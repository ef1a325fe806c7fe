"""candor.testing.capture_events: what a Telemetry would spool, with no file and no network."""

from __future__ import annotations

from typing import TYPE_CHECKING

from candor.client import _CAPTURE_INSTALLATION_ID as CAPTURE_INSTALLATION_ID
from candor.schema import FIELD_NAMES, validate_event
from candor.testing import capture_events
from tests.client.harness import files_under, spooled_events

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from candor.client import Telemetry


def test_captures_valid_events_and_touches_no_file(
    make_telemetry: Callable[..., Telemetry], home: Path
) -> None:
    """Captured events are valid nine-field dicts; HOME stays empty, even on a first run."""
    telemetry = make_telemetry({"DO_NOT_TRACK": "1"})  # capture ignores the developer's opt-out
    with capture_events(telemetry) as events:
        with telemetry.session("build"):
            pass
        telemetry.record("deploy", 12, "invalid_manifest")
    assert [tuple(event) for event in events] == [FIELD_NAMES, FIELD_NAMES]
    assert all(validate_event(event) == [] for event in events)
    assert [event["command"] for event in events] == ["build", "deploy"]
    assert {event["installation_id"] for event in events} == {CAPTURE_INSTALLATION_ID}
    assert files_under(home) == []


def test_capture_ends_with_the_block(
    make_telemetry: Callable[..., Telemetry], seeded: Path
) -> None:
    """After the block, recording goes back to the spool and the captured list stops growing."""
    telemetry = make_telemetry()
    with capture_events(telemetry) as events:
        telemetry.record("build", 1)
    telemetry.record("deploy", 1)
    assert [event["command"] for event in events] == ["build"]
    assert [event["command"] for event in spooled_events(seeded)] == ["deploy"]


def test_captures_are_per_telemetry_and_nest(make_telemetry: Callable[..., Telemetry]) -> None:
    """Each Telemetry captures on its own (no global), and an inner block takes its events."""
    first, second = make_telemetry(), make_telemetry()
    with capture_events(first) as outer, capture_events(second) as other:
        first.record("build", 1)
        with capture_events(first) as inner:
            first.record("deploy", 1)
        first.record("info", 1)
        second.record("init", 1)
    assert [event["command"] for event in outer] == ["build", "info"]
    assert [event["command"] for event in inner] == ["deploy"]
    assert [event["command"] for event in other] == ["init"]
