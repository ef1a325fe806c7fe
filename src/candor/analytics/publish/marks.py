"""Which figures of the dashboard and `candor report` the public report would not show.

`public_marks` applies the public report's rule (`candor.analytics.publish.suppression`) to the
answers a summary shows, with the same range and filters, so the team sees what publishing
would keep before it publishes. The result sits in the summary beside the sections, under
`public`: K, whether everything would be withheld, and per table the names of hidden rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.analytics.answers import (
    Adoption,
    Errors,
    Installations,
    Overview,
    Performance,
    Platforms,
)
from candor.analytics.publish.figures import FOLDED, release_installations
from candor.analytics.publish.suppression import (
    DEFAULT_MIN_INSTALLATIONS,
    Cell,
    independent,
    partition,
)

if TYPE_CHECKING:
    from candor.analytics.filters import Filters, TimeRange
    from candor.storage.base import Store

PUBLIC = "public"  # the key of the marks in a summary


def _names(split_hidden: tuple[Cell, ...]) -> list[str]:
    return [cell.name for cell in split_hidden]


def public_marks(
    answers: dict[str, object],
    k: int = DEFAULT_MIN_INSTALLATIONS,
    releases: dict[tuple[str, str], int] | None = None,
) -> dict[str, Any]:
    """The rows of `answers` (a summary, any sections) that the public report would hide.

    `releases` gives installations per (command, cli_version), for the durations by release;
    without it no release row is marked.
    """
    overview = answers.get("overview")
    marks: dict[str, Any] = {"min_installations": k, "withheld": False}
    total: Cell | None = None
    if isinstance(overview, Overview):
        total = Cell("total", overview.installations, overview.events)
        marks["withheld"] = overview.installations < k

    def breakdown(cells: list[Cell]) -> list[str]:
        if total is None:  # no total shown: each row stands alone
            return _names(independent(cells, k, FOLDED).hidden)
        return _names(partition(cells, total, k, FOLDED).hidden)

    hidden: dict[str, list[Any]] = {}
    commands = answers.get("commands")
    if isinstance(commands, list):
        hidden["commands"] = breakdown(
            [Cell(c.command, c.installations, c.events) for c in commands]
        )
    platforms = answers.get("platforms")
    if isinstance(platforms, Platforms):
        hidden["os_arch"] = breakdown(
            [Cell(s.name, s.installations, s.events) for s in platforms.os_arch]
        )
    adoption = answers.get("adoption")
    if isinstance(adoption, Adoption):
        hidden["cli_version"] = breakdown(
            [Cell(v.cli_version, v.installations) for v in adoption.versions]
        )
    errors = answers.get("errors")
    if isinstance(errors, Errors):
        cells = [Cell(e.error_code, e.installations, e.events) for e in errors.top]
        hidden["error_code"] = _names(independent(cells, k, FOLDED).hidden)
    installations = answers.get("installations")
    if isinstance(installations, Installations):
        hidden["weeks"] = [w.week.isoformat() for w in installations.weekly if w.active < k]
    performance = answers.get("performance")
    if isinstance(performance, Performance):
        if isinstance(commands, list):
            small = {c.command for c in commands if c.installations < k or c.command in FOLDED}
            hidden["latency"] = [r.command for r in performance.by_command if r.command in small]
        if releases is not None:
            hidden["releases"] = [
                [r.command, r.cli_version]
                for r in performance.by_version
                if releases.get((r.command, r.cli_version), 0) < k
                or {r.command, r.cli_version} & set(FOLDED)
            ]
    marks["hidden"] = hidden
    return marks


def with_public_marks(
    store: Store,
    time_range: TimeRange,
    filters: Filters,
    answers: dict[str, object],
    k: int = DEFAULT_MIN_INSTALLATIONS,
) -> dict[str, object]:
    """`answers` (a summary) with its `public` marks added."""
    performance = answers.get("performance")
    releases = None
    if isinstance(performance, Performance):
        versions = (row.cli_version for row in performance.by_version)
        releases = release_installations(store, time_range, versions, filters)
    return {**answers, PUBLIC: public_marks(answers, k, releases)}
