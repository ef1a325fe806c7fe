"""Sessions time a command and classify its end; exceptions pass through untouched."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from candor.testing import capture_events

if TYPE_CHECKING:
    from collections.abc import Callable

    from candor.client import Telemetry


class ManifestError(Exception):
    """Declared as invalid_manifest."""


class StrictManifestError(ManifestError):
    """Inherits its code through the MRO."""


class NotFoundError(ManifestError):
    """Declared on its own: the nearest class in the MRO wins."""


@pytest.fixture
def telemetry(make_telemetry: Callable[..., Telemetry]) -> Telemetry:
    """An in-process Telemetry with two declared error codes."""
    return make_telemetry(
        error_codes={ManifestError: "invalid_manifest", NotFoundError: "manifest_not_found"}
    )


def outcome(events: list[dict[str, object]]) -> tuple[object, object, object]:
    """(command, status, error_code) of the single captured event."""
    (event,) = events
    assert isinstance(event["duration_ms"], int) and event["duration_ms"] >= 0
    return event["command"], event["status"], event["error_code"]


def test_success(telemetry: Telemetry) -> None:
    """A block that ends normally is a success with no error code."""
    with capture_events(telemetry) as events, telemetry.session("db Migrate"):
        pass
    assert outcome(events) == ("db migrate", "success", None)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ManifestError("x"), "invalid_manifest"),
        (StrictManifestError("x"), "invalid_manifest"),
        (NotFoundError("x"), "manifest_not_found"),
        (ValueError("secret path /home/alice"), "internal_error"),
        (KeyboardInterrupt(), "interrupted"),
    ],
)
def test_exception_is_classified_and_propagates(
    telemetry: Telemetry, error: BaseException, code: str
) -> None:
    """An exception becomes its declared code (by MRO) and leaves the block as the same object."""
    with (
        capture_events(telemetry) as events,
        pytest.raises(type(error)) as caught,
        telemetry.session("build"),
    ):
        raise error
    assert caught.value is error
    assert outcome(events) == ("build", "failure", code)


@pytest.mark.parametrize(
    ("status", "code"),
    [(0, None), (None, None), (False, None), (1, "internal_error"), ("bye", "internal_error")],
)
def test_system_exit(telemetry: Telemetry, status: object, code: str | None) -> None:
    """SystemExit(0/None) is a success; any other exit status is a failure."""
    with (
        capture_events(telemetry) as events,
        pytest.raises(SystemExit),
        telemetry.session("deploy"),
    ):
        sys.exit(status)  # type: ignore[arg-type]
    assert outcome(events) == ("deploy", "success" if code is None else "failure", code)


def test_fail_marks_failure_without_exception(telemetry: Telemetry) -> None:
    """fail() records a failure with its code even though the block ends normally."""
    with capture_events(telemetry) as events, telemetry.session("build") as session:
        session.fail("invalid_manifest")
    assert outcome(events) == ("build", "failure", "invalid_manifest")


def test_fail_code_wins_over_a_later_exit(telemetry: Telemetry) -> None:
    """A code given to fail() is kept when the command then exits non-zero."""
    with (
        capture_events(telemetry) as events,
        pytest.raises(SystemExit),
        telemetry.session("build") as session,
    ):
        session.fail("usage_error")
        sys.exit(2)
    assert outcome(events) == ("build", "failure", "usage_error")


def test_command_set_late_and_none_records_nothing(telemetry: Telemetry) -> None:
    """The command may be named after parsing; a session left without one records nothing."""
    with capture_events(telemetry) as events:
        with telemetry.session() as session:
            session.command = "deploy"
        with telemetry.session():
            pass
        with telemetry.session("help") as session:
            session.command = None
    assert outcome(events) == ("deploy", "success", None)


def test_decorator_records_each_call(telemetry: Telemetry) -> None:
    """@telemetry.session("build") records every call and keeps the function's identity."""

    @telemetry.session("build")
    def build(value: int) -> int:
        """Build something."""
        if value < 0:
            raise ManifestError("negative")
        return value * 2

    with capture_events(telemetry) as events:
        assert build(2) == 4
        with pytest.raises(ManifestError):
            build(-1)
    assert [(e["status"], e["error_code"]) for e in events] == [
        ("success", None),
        ("failure", "invalid_manifest"),
    ]
    assert build.__name__ == "build" and build.__doc__ == "Build something."


def test_record_never_raises(telemetry: Telemetry) -> None:
    """record() with values the schema rejects drops the event and returns normally."""
    with capture_events(telemetry) as events:
        telemetry.record("deploy --token=secret", 5)
        telemetry.record("build", 5, "Not A Code")
        telemetry.record("build", float("nan"))
    assert events == []


def test_error_code_for(telemetry: Telemetry) -> None:
    """Declared codes by MRO, Ctrl-C as interrupted, anything else internal_error."""
    assert telemetry.error_code_for(StrictManifestError()) == "invalid_manifest"
    assert telemetry.error_code_for(KeyboardInterrupt()) == "interrupted"
    assert telemetry.error_code_for(OSError()) == "internal_error"
    telemetry.declare_error(OSError, "io_error")
    assert telemetry.error_code_for(FileNotFoundError()) == "io_error"


@pytest.mark.parametrize("code", ["Invalid", "bad-code", "", "x" * 65, "1abc"])
def test_declare_error_refuses_bad_codes(telemetry: Telemetry, code: str) -> None:
    """An error code that is not snake_case (what the schema accepts) fails at declaration."""
    with pytest.raises(ValueError, match="snake_case"):
        telemetry.declare_error(ValueError, code)


def test_declare_error_needs_an_exception_class(telemetry: Telemetry) -> None:
    """Only exception classes can be declared."""
    with pytest.raises(TypeError):
        telemetry.declare_error(int, "number")  # type: ignore[arg-type]


def test_platform_must_be_a_plain_name(make_telemetry: Callable[..., Telemetry]) -> None:
    """A platform name that would leave HOME (a path, a dot name) is refused at construction."""
    for bad in ("", "../etc", ".hidden", "a/b"):
        with pytest.raises(ValueError, match="platform"):
            make_telemetry(platform=bad)
