"""Events are built with exactly the nine schema fields, and an invalid one never leaves."""

from __future__ import annotations

import pytest

from candor.client.errors import InvalidEventError
from candor.client.event import build_event, clamp_duration, normalize_command
from candor.schema import FIELD_NAMES, MAX_DURATION_MS, validate_event

GOOD = {
    "installation_id": "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
    "cli_version": "0.2.1",
    "command": "db migrate",
    "os_arch": "linux-x86_64",
    "duration_ms": 850.7,
    "error_code": None,
    "is_interactive": True,
}


def test_build_event_has_the_nine_fields_and_is_valid() -> None:
    """A success event has the schema's nine keys in order, a whole duration and no error code."""
    event = build_event(**GOOD)  # type: ignore[arg-type]
    assert tuple(event) == FIELD_NAMES
    assert validate_event(event) == []
    assert event["event_version"] == "1.0"
    assert event["duration_ms"] == 850
    assert event["status"] == "success"
    assert event["error_code"] is None


def test_failure_status_follows_the_error_code() -> None:
    """An error code makes the status "failure"."""
    event = build_event(**{**GOOD, "error_code": "invalid_manifest"})  # type: ignore[arg-type]
    assert (event["status"], event["error_code"]) == ("failure", "invalid_manifest")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("command", "deploy --token=s3cret"),  # an argument leaking into the command
        ("command", "/home/alice/project"),
        ("installation_id", "not-a-uuid"),
        ("installation_id", "3F1C2B4A-9D8E-4F7A-8B6C-5D4E3F2A1B0C"),  # not canonical
        ("cli_version", "1.0 (build 5)"),
        ("error_code", "Invalid Manifest"),
        ("os_arch", "Linux-x86_64"),
    ],
)
def test_invalid_event_is_refused(field: str, value: str) -> None:
    """A value the schema rejects raises InvalidEventError naming that field."""
    with pytest.raises(InvalidEventError) as caught:
        build_event(**{**GOOD, field: value})  # type: ignore[arg-type]
    assert any(problem.startswith(f"{field}:") for problem in caught.value.problems)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["db", "migrate"], "db migrate"),
        (["DB", "Migrate"], "db migrate"),
        ("db   migrate", "db migrate"),
        (("  build ",), "build"),
        (["db migrate", "up"], "db migrate up"),
        ([], ""),
    ],
)
def test_normalize_command(parts: list[str] | str, expected: str) -> None:
    """Command paths become lower-case words joined by exactly one space."""
    assert normalize_command(parts) == expected


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (-5, 0),
        (0.9, 0),
        (12.5, 12),
        (MAX_DURATION_MS + 10, MAX_DURATION_MS),
        (1e20, MAX_DURATION_MS),
    ],
)
def test_duration_is_clamped(duration: float, expected: int) -> None:
    """Durations are whole milliseconds within the schema's range, whatever the clock said."""
    assert clamp_duration(duration) == expected
