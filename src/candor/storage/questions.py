"""The analytics questions a store answers, in the domain's words: no SQL, no table names.

Every question is asked for a `TimeRange` (whole UTC days, by `received_at`) and `Filters`
(equality on cli_version, os_arch, command, is_interactive; None means any), and answered with
the plain rows below. A store computes them where its data is (DuckDB: over its rollups; a
server engine: in its own SQL), never by handing raw events to Python. `candor.analytics`
turns the rows into the answers the report, the stats API and the dashboard show (shares,
ratios, ordering, regressions), so every backend's numbers are shaped once, the same way.

The definitions every backend keeps exactly:

- installations: the number of DISTINCT installation_ids among the events counted, exact.
- new installations: installations with an event (matching the filters) in the range on the
  UTC day of their first event ever (since the last prune).
- percentiles: nearest-rank. pN is the smallest duration with at least N % of the runs at or
  below it (the p90 of 4 runs is the 4th; `quantile_disc` in DuckDB, `quantileExactHigh`-like
  in ClickHouse: never an interpolated value).
- weeks start on Monday (ISO); a week counts only the days of the range.
- top values: cli_version, command and error_code are chosen by whoever sends events, so a
  question grouped by one of them answers for its `TOP_VALUES[dimension]` values with the most
  events in the range (ties: the smaller value first) and folds every other value into one row
  named `OTHER` (its counts exact over those values together). Filters apply first.
  `dimension_values` is the exception: it lists every value, for the filter menus.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from candor.schema import FIELDS_BY_NAME, field_problem

MAX_RANGE_DAYS = 3660  # ten years: anything longer is a typo, and the daily series would be huge

# The name of the row that holds every value beyond the top ones (no valid value looks so).
OTHER = "(other)"
# How many values of a sender-chosen dimension a question answers one by one.
TOP_VALUES = {"command": 50, "cli_version": 20, "error_code": 50}

# The questions, by the name of the Store method that answers each.
QUESTIONS = (
    "usage_totals",
    "command_counts",
    "duration_percentiles",
    "error_counts",
    "installation_counts",
    "version_counts",
    "platform_counts",
    "dimension_values",
)


class QueryError(ValueError):
    """A time range or filter that cannot be used; the message is one readable line."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The UTC days from `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise QueryError(f"the range ends ({self.end}) before it starts ({self.start})")
        if self.days > MAX_RANGE_DAYS:
            raise QueryError(f"a range may span at most {MAX_RANGE_DAYS} days")

    @property
    def days(self) -> int:
        """How many days the range covers."""
        return (self.end - self.start).days + 1

    @property
    def start_time(self) -> dt.datetime:
        """The first instant of the range (naive UTC, as `received_at` is stored)."""
        return dt.datetime.combine(self.start, dt.time())

    @property
    def end_time(self) -> dt.datetime:
        """The first instant after the range."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time())

    @classmethod
    def last(cls, days: int, today: dt.date | None = None) -> TimeRange:
        """The last `days` days, today (UTC) included."""
        if days < 1:
            raise QueryError("a range covers at least one day")
        end = today or utc_today()
        return cls(end - dt.timedelta(days=days - 1), end)


@dataclass(frozen=True, slots=True)
class Filters:
    """Optional equality filters on the event's dimensions; None means "any"."""

    cli_version: str | None = None
    os_arch: str | None = None
    command: str | None = None
    interactive: bool | None = None  # True: interactive terminals, False: scripts and CI

    def __post_init__(self) -> None:
        for name in ("cli_version", "os_arch", "command"):
            value = getattr(self, name)
            if value is not None:
                problem = field_problem(FIELDS_BY_NAME[name], value)
                if problem:
                    raise QueryError(f"filter {problem}")

    def columns(self) -> list[tuple[str, object]]:
        """(event column, value) of each filter that is set, in a fixed order."""
        return [
            (column, value)
            for column, value in (
                ("cli_version", self.cli_version),
                ("os_arch", self.os_arch),
                ("command", self.command),
                ("is_interactive", self.interactive),
            )
            if value is not None
        ]

    def as_dict(self) -> dict[str, object]:
        """The filters that are set, by their query-parameter names."""
        return {
            name: value
            for name, value in (
                ("cli_version", self.cli_version),
                ("os_arch", self.os_arch),
                ("command", self.command),
                ("interactive", self.interactive),
            )
            if value is not None
        }


NO_FILTERS = Filters()


def utc_today() -> dt.date:
    """Today's date in UTC, the calendar the ranges use."""
    return dt.datetime.now(dt.UTC).date()


# ---------------------------------------------------------------- the answers' rows
# Lists come in no particular order unless said: the analytics layer orders what it shows.


class Totals(NamedTuple):
    """`usage_totals`: the headline numbers."""

    events: int
    failures: int
    installations: int
    new_installations: int
    interactive_events: int  # events with is_interactive
    commands: int  # distinct commands (OTHER is not one: every command counts)


class Tally(NamedTuple):
    """One value of a dimension (or all of them: `name` None) and what it counted."""

    name: str | None
    events: int
    installations: int


class Breakdown(NamedTuple):
    """Tallies per value, and the total over every value (installations are not additive)."""

    rows: list[Tally]
    total: Tally


class Percentiles(NamedTuple):
    """`duration_percentiles`: nearest-rank durations (ms) of one command (and version)."""

    command: str
    cli_version: str | None  # None when not asked per version
    events: int
    p50: int
    p90: int
    p99: int
    max: int


class ErrorTally(NamedTuple):
    """Failures with one error_code (of one command, or of all: `command` None)."""

    command: str | None
    error_code: str
    events: int
    installations: int


class FailureTally(NamedTuple):
    """Events and failures of one command or one cli_version."""

    name: str
    events: int
    failures: int
    installations_failing: int  # distinct installations with at least one failure


class ErrorCounts(NamedTuple):
    """`error_counts`."""

    by_code: list[ErrorTally]  # command None
    by_command_and_code: list[ErrorTally]
    by_command: list[FailureTally]
    by_version: list[FailureTally]


class DayCount(NamedTuple):
    """Installations active on one day, and how many of them were new that day."""

    day: dt.date
    active: int
    new: int


class WeekCount(NamedTuple):
    """Installations active in the days of one week that the range covers."""

    week: dt.date  # its Monday
    active: int


class InstallationCounts(NamedTuple):
    """`installation_counts`: only days and weeks with activity."""

    daily: list[DayCount]
    weekly: list[WeekCount]


class VersionDay(NamedTuple):
    """Installations on one cli_version (or on any: `cli_version` None) on one day."""

    day: dt.date
    cli_version: str | None
    installations: int


class VersionTotal(NamedTuple):
    """Installations on one cli_version over the range, and its first day in the range."""

    cli_version: str
    installations: int
    first_day: dt.date


class VersionCounts(NamedTuple):
    """`version_counts`: what adoption is computed from."""

    daily: list[VersionDay]  # per day and version, and per day (cli_version None)
    versions: list[VersionTotal]
    installations: int  # distinct installations in the range


class InteractiveTally(NamedTuple):
    """Events and installations of interactive runs (True) or of scripts and CI (False)."""

    interactive: bool
    events: int
    installations: int


class PlatformCounts(NamedTuple):
    """`platform_counts`."""

    os_arch: list[Tally]
    interactive: list[InteractiveTally]
    total: Tally


class DimensionValues(NamedTuple):
    """`dimension_values`: every value seen in the range, most events first (ties by name)."""

    commands: list[str]
    cli_versions: list[str]
    os_archs: list[str]
