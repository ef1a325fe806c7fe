"""The one check every integration test makes of what a run recorded."""

from __future__ import annotations

from candor.schema import FIELD_NAMES, validate_event

Expected = tuple[str, str | None] | None  # (command, error_code), or None: nothing recorded


def assert_recorded(events: list[dict[str, object]], expected: Expected) -> None:
    """One valid nine-key event with the expected command and error code, or none."""
    if expected is None:
        assert events == []
        return
    assert len(events) == 1, events
    event = events[0]
    assert tuple(event) == FIELD_NAMES
    assert validate_event(event) == []
    assert (event["command"], event["error_code"]) == expected
