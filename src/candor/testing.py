"""Helpers for CLI authors' own tests: see what a `Telemetry` would record, and nothing more.

    from candor.testing import capture_events

    def test_build_reports_a_bad_manifest(telemetry):
        with capture_events(telemetry) as events:
            run_my_cli(["build"])
        assert events[0]["error_code"] == "invalid_manifest"

Modelled on structlog.testing.capture_logs, but bound to one `Telemetry` instead of a global.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from candor.client import Telemetry

__all__ = ["capture_events"]


@contextmanager
def capture_events(telemetry: Telemetry) -> Iterator[list[dict[str, object]]]:
    """Collect the events `telemetry` records inside the block, as a list of event dicts.

    Each event is built and validated exactly as for the spool, but goes to the list instead:
    consent, the config file, the first-run notice, the spool and the network are all skipped,
    so a test neither depends on the developer's DO_NOT_TRACK nor writes to their HOME. The
    installation ID is a fixed placeholder (`CAPTURE_INSTALLATION_ID`). An event that breaks
    the schema is dropped, as it would be in production, and so is missing from the list.
    Blocks may nest; the inner one gets the events recorded inside it.
    """
    events: list[dict[str, object]] = []
    previous = telemetry._set_capture(events)
    try:
        yield events
    finally:
        telemetry._set_capture(previous)
