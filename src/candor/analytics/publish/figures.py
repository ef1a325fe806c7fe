"""The public report's figures: the query layer's answers, cut down by the privacy floor.

`gather` asks `candor.analytics.queries` (nothing else: no SQL, no table names here), and
`public_figures` turns those answers into the report's plain JSON value with
`candor.analytics.publish.suppression`. Each table says how it is protected:

- breakdowns that add up to a published total (commands, platforms, versions) go through
  `suppression.partition`: small cells and, when needed, complementary ones become "other";
- error codes and weekly active installations publish no total, so each cell stands alone;
- durations are p50/p90 only (rounded), for commands and command × release cells that rest on
  K installations, with no run counts, so nothing about a hidden cell can be subtracted out.

No installation ID is ever in an answer, and nothing here is per installation.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from candor.analytics import queries
from candor.analytics.answers import (
    CommandUsage,
    ErrorCount,
    Latency,
    Overview,
    Share,
    VersionLatency,
    VersionSummary,
    WeeklyActive,
    ratio,
)
from candor.analytics.filters import NO_FILTERS
from candor.analytics.publish.suppression import Cell, Split, independent, partition, round_duration
from candor.storage.questions import OTHER

if TYPE_CHECKING:
    from collections.abc import Iterable

    from candor.analytics.filters import Filters, TimeRange
    from candor.storage.base import Store

# A store answers for its most used values one by one and folds the rest into one row, named so
# no value can be: that row is never shown as it is, only within "other".
FOLDED = (OTHER,)
GENERATOR = "candor publish"
FORMAT = 1  # of data.json; raised when a field changes meaning
RULE = (
    "A figure is published only when it rests on at least {k} distinct installations. Smaller "
    "groups are folded into \u201cother\u201d, and when \u201cother\u201d would itself rest on "
    "fewer than {k}, the smallest published group joins it, so no hidden figure can be worked "
    "out by subtracting published ones from a total. Durations (p50 and p90, nearest-rank, "
    "rounded to two significant digits) are shown only for groups of at least {k} "
    "installations, without run counts. Nothing per installation is ever published."
)


@dataclasses.dataclass(frozen=True, slots=True)
class Answers:
    """Everything the public report is computed from: answers of the query layer only."""

    overview: Overview
    commands: list[CommandUsage]
    os_arch: list[Share]
    versions: list[VersionSummary]
    errors: list[ErrorCount]
    weekly: list[WeeklyActive]
    latency: list[Latency]
    release_latency: list[VersionLatency]
    # installations per (command, cli_version): what a release's durations rest on
    release_installations: dict[tuple[str, str], int]


def release_installations(
    store: Store, time_range: TimeRange, versions: Iterable[str], filters: Filters = NO_FILTERS
) -> dict[tuple[str, str], int]:
    """Installations per (command, cli_version): what each release's durations rest on."""
    return {
        (usage.command, version): usage.installations
        for version in sorted(set(versions) - set(FOLDED))  # "(other)" is no version to filter by
        for usage in queries.commands(
            store, time_range, dataclasses.replace(filters, cli_version=version)
        )
    }


def gather(store: Store, time_range: TimeRange) -> Answers:
    """Ask the query layer every question the public report answers."""
    release_latency = queries.latency_by_version(store, time_range)
    versions = (row.cli_version for row in release_latency)
    return Answers(
        overview=queries.overview(store, time_range),
        commands=queries.commands(store, time_range),
        os_arch=queries.platforms(store, time_range).os_arch,
        versions=queries.adoption(store, time_range).versions,
        errors=queries.errors(store, time_range, NO_FILTERS).top,
        weekly=queries.installations(store, time_range).weekly,
        latency=queries.latency_by_command(store, time_range),
        release_latency=release_latency,
        release_installations=release_installations(store, time_range, versions),
    )


def _breakdown(split: Split, total: Cell, *, events: bool = True) -> dict[str, Any]:
    """A partition table: its rows, and "other" (events only: distinct counts do not add)."""
    rows = []
    for cell in split.published:
        row: dict[str, Any] = {
            "name": cell.name,
            "installations": cell.installations,
            "installation_share": round(ratio(cell.installations, total.installations), 6),
        }
        if events:
            row["events"] = cell.events
            row["event_share"] = round(ratio(cell.events, total.events), 6)
        rows.append(row)
    other: dict[str, Any] | None = None
    if split.hidden and not split.withheld:
        other = {"name": "other"}
        if events and split.other_events is not None:
            other["events"] = split.other_events
            other["event_share"] = round(ratio(split.other_events, total.events), 6)
    return {"rows": rows, "other": other, "withheld": split.withheld}


def public_figures(answers: Answers, time_range: TimeRange, k: int) -> dict[str, Any]:
    """The public report as a JSON value (data.json); every figure meets the floor of `k`."""
    head: dict[str, Any] = {
        "generator": GENERATOR,
        "format": FORMAT,
        "range": {
            "start": time_range.start.isoformat(),
            "end": time_range.end.isoformat(),
            "days": time_range.days,
        },
        "min_installations": k,
        "rule": RULE.format(k=k),
        "percentile_method": "nearest-rank",
    }
    o = answers.overview
    if o.installations < k:  # too few to say anything, even the total
        return {**head, "withheld": True, "overview": None}
    total = Cell("total", o.installations, o.events)
    command_cells = [Cell(c.command, c.installations, c.events) for c in answers.commands]
    commands = partition(command_cells, total, k, FOLDED)
    platforms = partition(
        [Cell(s.name, s.installations, s.events) for s in answers.os_arch], total, k, FOLDED
    )
    versions = partition(
        [Cell(v.cli_version, v.installations) for v in answers.versions], total, k, FOLDED
    )
    errors = independent(
        [Cell(e.error_code, e.installations, e.events) for e in answers.errors], k, FOLDED
    )
    by_command = {c.command: c.installations for c in answers.commands}
    return {
        **head,
        "withheld": False,
        "overview": {"installations": o.installations, "events": o.events},
        "commands": _breakdown(commands, total),
        "platforms": _breakdown(platforms, total),
        "versions": _breakdown(versions, total, events=False),
        "errors": {
            "rows": [
                {"name": c.name, "installations": c.installations, "events": c.events}
                for c in sorted(errors.published, key=lambda c: (-c.installations, c.name))
            ]
        },
        "durations_by_command": {
            "rows": [
                {"command": r.command, "p50": round_duration(r.p50), "p90": round_duration(r.p90)}
                for r in answers.latency
                if by_command.get(r.command, 0) >= k and r.command not in FOLDED
            ]
        },
        "durations_by_release": {
            "rows": [
                {
                    "command": r.command,
                    "cli_version": r.cli_version,
                    "p50": round_duration(r.p50),
                    "p90": round_duration(r.p90),
                }
                for r in answers.release_latency
                if answers.release_installations.get((r.command, r.cli_version), 0) >= k
                and not {r.command, r.cli_version} & set(FOLDED)
            ]
        },
        "weekly_active": {
            "rows": [
                {
                    "week": w.week.isoformat(),
                    "installations": w.active if w.active >= k else None,
                    "partial": w.partial,
                }
                for w in answers.weekly
            ]
        },
    }
