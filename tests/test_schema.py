"""The schema module: the nine fields, their rules, and the shipped schema.json."""

from __future__ import annotations

from importlib import resources

import pytest

from candor import schema

VALID = {
    "event_version": "1.0",
    "installation_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "cli_version": "0.2.1",
    "command": "db migrate",
    "os_arch": "linux-x86_64",
    "duration_ms": 850,
    "status": "success",
    "error_code": None,
    "is_interactive": True,
}


def test_exactly_nine_fields_in_policy_order() -> None:
    """The event has the nine documented keys, in the policy's order."""
    assert schema.FIELD_NAMES == (
        "event_version", "installation_id", "cli_version", "command", "os_arch",
        "duration_ms", "status", "error_code", "is_interactive",
    )  # fmt: skip


def test_examples_are_valid() -> None:
    """The policy's example values pass the schema's own rules."""
    event = {field.name: field.example for field in schema.FIELDS}
    event["status"], event["error_code"] = "failure", "invalid_manifest"
    assert schema.validate_event(event) == []
    assert schema.validate_event(VALID) == []


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("installation_id", "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D", "installation_id: must be"),
        ("installation_id", "a1b2c3d4-e5f6-1a7b-8c9d-0e1f2a3b4c5d", "installation_id: must be"),
        ("cli_version", "1" * 33, "cli_version: longer than 32"),
        ("command", "deploy --force", "command: must be"),
        ("command", "Deploy", "command: must be"),
        ("command", "db  migrate", "command: must be"),
        ("command", "build\n", "command: must be"),
        ("os_arch", "Linux-x86_64", "os_arch: must be"),
        ("os_arch", "darwin-arm64", "os_arch: must be"),
        ("duration_ms", -1, "duration_ms: must be at least 0"),
        ("duration_ms", 1.5, "duration_ms: must be an integer"),
        ("duration_ms", True, "duration_ms: must be an integer"),
        ("status", "ok", "status: must be"),
        ("is_interactive", 1, "is_interactive: must be true or false"),
        ("event_version", "2.0", "event_version: must be"),
    ],
)
def test_each_rule_rejects(key: str, value: object, reason: str) -> None:
    """A value outside a field's rule is rejected with a reason naming the field."""
    problems = schema.validate_event({**VALID, key: value})
    assert len(problems) == 1
    assert problems[0].startswith(reason)


def test_unknown_and_missing_keys() -> None:
    """An extra key (say hostname) or a missing one is a problem; so is a non-object."""
    assert schema.validate_event({**VALID, "hostname": "box"}) == ["hostname: unknown field"]
    missing = dict(VALID)
    del missing["os_arch"]
    assert schema.validate_event(missing) == ["os_arch: missing"]
    assert schema.validate_event([VALID]) == ["event: must be a JSON object"]


def test_error_code_matches_status() -> None:
    """error_code is null exactly when status is success."""
    assert schema.validate_event({**VALID, "error_code": "boom"}) == [
        "error_code: must be null when status is success"
    ]
    assert schema.validate_event({**VALID, "status": "failure"}) == [
        "error_code: required when status is failure"
    ]
    failed = {**VALID, "status": "failure", "error_code": "Bad Code"}
    assert schema.validate_event(failed)[0].startswith("error_code: must be")


def test_shipped_schema_json_is_generated() -> None:
    """candor/schema.json is what schema.py generates (python -m candor.schema > ...)."""
    shipped = resources.files("candor").joinpath("schema.json").read_text(encoding="utf-8")
    assert shipped == schema.render_json_schema()
