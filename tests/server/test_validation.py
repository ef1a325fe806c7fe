"""The collector's msgspec validation agrees with candor.schema.validate_event on every input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from candor.schema import FIELD_NAMES, validate_event
from candor.server.http.errors import MalformedBody, PayloadTooLarge
from candor.server.http.validation import check_body, event_problems
from tests.server.strategies import any_event, valid_events
from tests.support.load import make_event


@settings(max_examples=200, deadline=None)
@given(any_event)
def test_msgspec_and_the_schema_accept_the_same_events(event: object) -> None:
    """For generated valid, near-miss and arbitrary JSON events, both say yes or both say no."""
    schema_says_ok = validate_event(json.loads(json.dumps(event))) == []
    collector_problems = event_problems(event)
    assert (collector_problems == []) == schema_says_ok, collector_problems


@settings(max_examples=50, deadline=None)
@given(valid_events())
def test_an_accepted_event_becomes_a_row_in_field_order(event: dict[str, object]) -> None:
    """The stored row is the event's values in FIELD_NAMES order, unchanged."""
    checked = check_body(json.dumps(event).encode())
    assert checked.rejections == []
    assert checked.rows == [tuple(event[name] for name in FIELD_NAMES)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"command": "build\n"}, "command: must be"),  # "$" would let a newline through
        ({"duration_ms": True}, "duration_ms: must be an integer"),  # a bool is not an int
        ({"duration_ms": 1.0}, "duration_ms: must be an integer"),
        ({"duration_ms": -1}, "duration_ms: must be at least 0"),
        ({"is_interactive": 1}, "is_interactive: must be true or false"),
        ({"installation_id": "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D"}, "installation_id: must"),
        ({"error_code": "oops"}, "error_code: must be null when status is success"),
    ],
)
def test_reasons_use_the_schema_words(change: dict[str, object], reason: str) -> None:
    """A rejected event's reason is the schema's own sentence for the problem."""
    event = make_event(**change)
    problems = event_problems(event)
    assert len(problems) == 1
    assert problems[0].startswith(reason)


def test_unknown_keys_are_named_only_when_they_look_like_names() -> None:
    """An unknown key is echoed if it is a plain identifier, never arbitrary client text."""
    assert event_problems({"hostname": 1})[0].startswith("hostname: unknown field")
    odd = event_problems({"<script>" * 20: 1})[0]
    assert odd.startswith("a key: unknown field")
    assert "<script>" not in odd


def test_body_shape_errors() -> None:
    """Not JSON or a scalar body is MalformedBody; too many events is PayloadTooLarge."""
    with pytest.raises(MalformedBody):
        check_body(b"[{]")
    with pytest.raises(MalformedBody):
        check_body(b"3")
    with pytest.raises(PayloadTooLarge):
        check_body(b"[" + b",".join([b"{}"] * 501) + b"]")
