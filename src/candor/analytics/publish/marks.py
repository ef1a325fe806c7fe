"""Which figures of the dashboard and `candor report` the public report would not show.

`public_marks` applies the public report's rule (`candor.analytics.publish.suppression`) to the
same range and filters the team is looking at, so it sees what publishing would keep before it
publishes. It needs no duration percentiles (the costly part of a summary): a command's or a
release's durations are hidden exactly when its installations are below K.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from candor.analytics import queries
from candor.analytics.filters import NO_FILTERS
from candor.analytics.publish.figures import FOLDED, release_installations
from candor.analytics.publish.suppression import (
    DEFAULT_MIN_INSTALLATIONS,
    Cell,
    independent,
    partition,
)

if TYPE_CHECKING:
    from candor.analytics.answers import (
        CommandUsage,
        ErrorCount,
        Overview,
        Share,
        VersionSummary,
        WeeklyActive,
    )
    from candor.analytics.filters import Filters, TimeRange
    from candor.storage.base import Store


@dataclasses.dataclass(frozen=True, slots=True)
class HiddenRows:
    """The rows, by name, that the public report would leave out (or fold into "other")."""

    commands: list[str]
    os_arch: list[str]
    cli_version: list[str]
    error_code: list[str]
    weeks: list[str]  # Mondays (YYYY-MM-DD) of weeks with fewer than K active installations
    latency: list[str]  # commands whose durations would not be shown
    releases: list[list[str]]  # [command, cli_version] whose durations would not be shown


@dataclasses.dataclass(frozen=True, slots=True)
class PublicMarks:
    """What `candor publish` with K = `min_installations` would hide of these answers."""

    min_installations: int
    withheld: bool  # fewer than K installations in all: nothing at all would be published
    hidden: HiddenRows


def _hidden(cells: list[Cell], total: Cell, k: int) -> list[str]:
    return [cell.name for cell in partition(cells, total, k, FOLDED).hidden]


def mark(
    overview: Overview,
    commands: list[CommandUsage],
    os_arch: list[Share],
    versions: list[VersionSummary],
    errors: list[ErrorCount],
    weekly: list[WeeklyActive],
    releases: dict[tuple[str, str], int],
    k: int = DEFAULT_MIN_INSTALLATIONS,
) -> PublicMarks:
    """The marks for these answers: a pure function, the same rule as the public report's."""
    total = Cell("total", overview.installations, overview.events)
    error_cells = [Cell(e.error_code, e.installations, e.events) for e in errors]
    return PublicMarks(
        min_installations=k,
        withheld=overview.installations < k,
        hidden=HiddenRows(
            commands=_hidden(
                [Cell(c.command, c.installations, c.events) for c in commands], total, k
            ),
            os_arch=_hidden([Cell(s.name, s.installations, s.events) for s in os_arch], total, k),
            cli_version=_hidden([Cell(v.cli_version, v.installations) for v in versions], total, k),
            error_code=[c.name for c in independent(error_cells, k, FOLDED).hidden],
            weeks=[w.week.isoformat() for w in weekly if w.active < k],
            latency=[c.command for c in commands if c.installations < k or c.command in FOLDED],
            releases=[
                [command, version]
                for (command, version), installations in sorted(releases.items())
                if installations < k or {command, version} & set(FOLDED)
            ],
        ),
    )


def public_marks(
    store: Store,
    time_range: TimeRange,
    filters: Filters = NO_FILTERS,
    k: int = DEFAULT_MIN_INSTALLATIONS,
) -> PublicMarks:
    """Which rows of the report and dashboard `candor publish` would not show (K = 10)."""
    versions = queries.adoption(store, time_range, filters).versions
    return mark(
        overview=queries.overview(store, time_range, filters),
        commands=queries.commands(store, time_range, filters),
        os_arch=queries.platforms(store, time_range, filters).os_arch,
        versions=versions,
        errors=queries.errors(store, time_range, filters).top,
        weekly=queries.installations(store, time_range, filters).weekly,
        releases=release_installations(
            store, time_range, (v.cli_version for v in versions), filters
        ),
        k=k,
    )
