"""Events are built with exactly the nine schema fields, and an invalid one never leaves."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from candor.client.errors import InvalidEventError
from candor.client.recording import build_event, clamp_duration, event_is_valid, normalize_command
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


SAMPLES = (
    "1.0", "2.0", "success", "failure", "usage_error", "Bad_Code", "linux-x86_64", "db migrate",
    "db  migrate", "0.2.1", "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
    "3F1C2B4A-9D8E-4F7A-8B6C-5D4E3F2A1B0C", "", "x" * 65,
)  # fmt: skip
FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**31 + 5),
    st.sampled_from(SAMPLES),
    st.text(max_size=70),
)


@settings(max_examples=600, deadline=None)
@example(changes={"error_code": "usage_error"}, removed=set())  # a code on a success
@example(changes={"status": "failure"}, removed=set())  # a failure without a code
@example(changes={"extra": None}, removed={"command"})  # nine keys, one unknown
@given(
    changes=st.dictionaries(st.sampled_from([*FIELD_NAMES, "extra"]), FIELD_VALUES, max_size=3),
    removed=st.sets(st.sampled_from(FIELD_NAMES), max_size=2),
)
def test_the_copied_rules_agree_with_the_schema(
    changes: dict[str, object], removed: set[str]
) -> None:
    """recording's check (candor.schema's rules copied by cog) accepts exactly the events
    `validate_event` accepts: one to three fields changed, added or removed."""
    event = build_event(**GOOD)  # type: ignore[arg-type]
    event.update(changes)
    for name in removed:
        event.pop(name, None)
    assert event_is_valid(event) == (validate_event(event) == [])


def test_the_schema_decides_when_the_copy_objects() -> None:
    """An event the copy refuses is refused with the schema's own words for every problem."""
    bad = {**GOOD, "command": "deploy --force", "error_code": "Bad"}
    with pytest.raises(InvalidEventError) as caught:
        build_event(**bad)  # type: ignore[arg-type]
    event = {**build_event(**GOOD), "command": "deploy --force"}  # type: ignore[arg-type]
    event.update(status="failure", error_code="Bad")
    assert caught.value.problems == validate_event(event)
    assert len(caught.value.problems) == 2
