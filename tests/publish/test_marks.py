"""The marks the dashboard and `candor report` show: exactly what the public report hides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.analytics import queries
from candor.analytics.filters import TimeRange, utc_today
from candor.analytics.publish.marks import public_marks
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
        summary: dict[str, Any] = queries.summary(store, time_range)
        marks = public_marks(store, time_range, k=K)
    finally:
        store.close()
    hidden = marks.hidden
    assert marks.min_installations == K and marks.withheld is False
    everything = {
        "commands": {c.command for c in summary["commands"]},
        "platforms": {s.name for s in summary["platforms"].os_arch},
        "versions": {v.cli_version for v in summary["adoption"].versions},
    }
    for table, names in (
        ("commands", hidden.commands),
        ("platforms", hidden.os_arch),
        ("versions", hidden.cli_version),
    ):
        shown = {row["name"] for row in figures[table]["rows"]}
        assert set(names) == everything[table] - shown
    assert set(hidden.commands) == {"deploy", "lint", "init"}
    assert set(hidden.error_code) == {"timeout", "auth_expired"}
    assert set(hidden.latency) == {"lint", "init"}
    shown = {(r["command"], r["cli_version"]) for r in figures["durations_by_release"]["rows"]}
    every = {(r.command, r.cli_version) for r in summary["performance"].by_version}
    assert {(c, v) for c, v in hidden.releases} == every - shown
    weeks = {w["week"] for w in figures["weekly_active"]["rows"] if w["installations"] is None}
    assert set(hidden.weeks) == weeks
