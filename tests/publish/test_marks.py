"""The marks the dashboard and `candor report` show: exactly what the public report hides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.analytics import queries
from candor.analytics.filters import TimeRange, utc_today
from candor.analytics.publish.marks import PUBLIC, with_public_marks
from candor.storage import open_store
from tests.publish.dataset import K

if TYPE_CHECKING:
    from pathlib import Path


def test_the_marks_name_what_the_public_report_leaves_out(
    published: tuple[Path, dict[str, Any]], known_store: Path
) -> None:
    """Over the same range, every row the summary shows is marked iff publish left it out."""
    _, figures = published
    time_range = TimeRange.last(90, utc_today())
    store = open_store(str(known_store))
    try:
        summary = queries.summary(store, time_range)
        marks = with_public_marks(store, time_range, queries.NO_FILTERS, summary, K)[PUBLIC]
    finally:
        store.close()
    hidden = marks["hidden"]
    assert marks["min_installations"] == K and marks["withheld"] is False
    everything = {
        "commands": {c.command for c in summary["commands"]},  # type: ignore[attr-defined]
        "platforms": {s.name for s in summary["platforms"].os_arch},  # type: ignore[attr-defined]
        "versions": {v.cli_version for v in summary["adoption"].versions},  # type: ignore[attr-defined]
    }
    for table, key in (
        ("commands", "commands"),
        ("platforms", "os_arch"),
        ("versions", "cli_version"),
    ):
        shown = {row["name"] for row in figures[table]["rows"]}
        assert set(hidden[key]) == everything[table] - shown
    assert set(hidden["commands"]) == {"deploy", "lint", "init"}
    assert set(hidden["error_code"]) == {"timeout", "auth_expired"}
    assert set(hidden["latency"]) == {"lint", "init"}
    shown_releases = {
        (r["command"], r["cli_version"]) for r in figures["durations_by_release"]["rows"]
    }
    all_releases = {(r.command, r.cli_version) for r in summary["performance"].by_version}  # type: ignore[attr-defined]
    assert {tuple(pair) for pair in hidden["releases"]} == all_releases - shown_releases
    weeks = {w["week"] for w in figures["weekly_active"]["rows"] if w["installations"] is None}
    assert set(hidden["weeks"]) == weeks
