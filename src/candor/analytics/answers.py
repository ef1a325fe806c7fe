"""The typed answers of the query layer, and their one JSON form.

Each class is one row of one answer; every count is over the chosen `TimeRange` and `Filters`.
`installations` is always an exact number of distinct installations, never a list of them: no
answer carries an installation ID or one installation's history.

`to_jsonable` turns any answer into plain JSON values (dates as YYYY-MM-DD); the stats API sends
exactly that, and `candor report --url` renders it back the same way as a local store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from candor.analytics.filters import Filters, TimeRange

PERCENTILE_METHOD = "nearest-rank"  # pN is the smallest duration with ≥ N % of runs at or below
DISTINCT_METHOD = "exact"  # distinct installations are counted exactly, on every store


@dataclasses.dataclass(frozen=True, slots=True)
class Overview:
    """Headline numbers."""

    events: int
    failures: int
    failure_rate: float  # failures / events
    installations: int  # distinct installations with at least one event
    new_installations: int  # of those, how many were first seen in the range
    interactive_share: float  # share of events run in an interactive terminal
    commands: int  # distinct commands used


@dataclasses.dataclass(frozen=True, slots=True)
class CommandUsage:
    """How much one command is used."""

    command: str
    events: int
    installations: int
    event_share: float  # of all events in the range
    installation_share: float  # of all active installations in the range


@dataclasses.dataclass(frozen=True, slots=True)
class Latency:
    """Duration percentiles of one command (milliseconds, nearest-rank)."""

    command: str
    events: int
    p50: int
    p90: int
    p99: int
    max: int


@dataclasses.dataclass(frozen=True, slots=True)
class VersionLatency:
    """Duration percentiles of one command in one cli_version, against the previous version."""

    command: str
    cli_version: str
    events: int
    p50: int
    p90: int
    p99: int
    max: int
    previous_version: str | None  # the release before, among those seen in the range
    p90_ratio: float | None  # p90 / the previous version's p90
    regression: bool  # p90_ratio ≥ REGRESSION_RATIO, with enough runs on both sides


@dataclasses.dataclass(frozen=True, slots=True)
class Performance:
    """Where the time goes."""

    by_command: list[Latency]
    by_version: list[VersionLatency]
    percentile_method: str = PERCENTILE_METHOD


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorCount:
    """How often one error code happened and to how many installations."""

    error_code: str
    events: int
    installations: int
    command: str | None = None  # set in the per-command breakdown


@dataclasses.dataclass(frozen=True, slots=True)
class FailureRate:
    """Failures of one command or one version."""

    name: str
    events: int
    failures: int
    rate: float  # failures / events
    installations_failing: int  # distinct installations that saw at least one failure


@dataclasses.dataclass(frozen=True, slots=True)
class Errors:
    """What goes wrong."""

    top: list[ErrorCount]  # by events, then installations
    by_command: list[ErrorCount]
    failure_by_command: list[FailureRate]
    failure_by_version: list[FailureRate]


@dataclasses.dataclass(frozen=True, slots=True)
class DailyActive:
    """Installations active on one day, and how many of them were new."""

    day: dt.date
    active: int
    new: int


@dataclasses.dataclass(frozen=True, slots=True)
class WeeklyActive:
    """Installations active in one ISO week (Monday first)."""

    week: dt.date  # its Monday
    active: int
    partial: bool  # the range covers only part of this week


@dataclasses.dataclass(frozen=True, slots=True)
class Installations:
    """Active and new installations over time."""

    daily: list[DailyActive]
    weekly: list[WeeklyActive]


@dataclasses.dataclass(frozen=True, slots=True)
class VersionShare:
    """One cli_version's installations on one day, as a share of that day's active ones."""

    day: dt.date
    cli_version: str
    installations: int
    share: float


@dataclasses.dataclass(frozen=True, slots=True)
class VersionSummary:
    """One cli_version over the whole range."""

    cli_version: str
    installations: int
    share: float  # of the installations active in the range
    latest_share: float  # on the range's last day with any activity
    first_day: dt.date  # first day it was seen in the range


@dataclasses.dataclass(frozen=True, slots=True)
class Adoption:
    """Which versions people run, over time."""

    daily: list[VersionShare]
    versions: list[VersionSummary]  # in release order


@dataclasses.dataclass(frozen=True, slots=True)
class Share:
    """One value of a dimension (an os_arch, or interactive/ci) and its share."""

    name: str
    events: int
    installations: int
    event_share: float
    installation_share: float  # can add up to more than 1: an installation may have both


@dataclasses.dataclass(frozen=True, slots=True)
class Platforms:
    """Where the CLI runs."""

    os_arch: list[Share]
    interactive: list[Share]  # names "interactive" and "ci" (scripts and CI)


@dataclasses.dataclass(frozen=True, slots=True)
class Dimensions:
    """The values seen in a range, for filter menus (most used first; versions in order)."""

    commands: list[str]
    cli_versions: list[str]
    os_archs: list[str]


def to_jsonable(value: object) -> object:
    """`value` (answers, lists, dicts, dates) as plain JSON-compatible values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def ratio(part: float, whole: float) -> float:
    """part / whole, or 0.0 when there is no whole."""
    return part / whole if whole else 0.0


def envelope(time_range: TimeRange, filters: Filters, data: object) -> dict[str, object]:
    """An answer with what it is about: the JSON of the stats API and of `candor report --json`."""
    return {
        "range": {
            "start": time_range.start.isoformat(),
            "end": time_range.end.isoformat(),
            "days": time_range.days,
        },
        "filters": filters.as_dict(),
        "percentile_method": PERCENTILE_METHOD,
        "distinct_method": DISTINCT_METHOD,
        "data": to_jsonable(data),
    }
