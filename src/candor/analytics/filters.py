"""What a question is asked about: a range of whole UTC days and optional filters.

Every analytics answer takes a `TimeRange` and a `Filters`; the terminal, the stats API and the
dashboard all build them with the parsers below, so "7d" means the same everywhere: the last
seven UTC days, today included. Ranges are whole days because the rollups are daily.

Parsers raise `QueryError` with a one-line reason, which the API answers as a 400.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from candor.schema import FIELDS_BY_NAME, field_problem

DEFAULT_SINCE = "30d"
MAX_RANGE_DAYS = 3660  # ten years: anything longer is a typo, and the daily series would be huge
_SINCE = re.compile(r"^(\d{1,5})([dw])$")
# The days a range may name: none before the epoch (no event was received then), and none so
# late that the day after it, where the range ends, leaves the calendar.
EARLIEST_DAY = dt.date(1970, 1, 1)
LATEST_DAY = dt.date(9999, 12, 30)


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

    def sql(self, alias: str = "") -> tuple[str, list[object]]:
        """` AND …` conditions for these filters (empty when none) and their parameters."""
        prefix = f"{alias}." if alias else ""
        conditions: list[str] = []
        params: list[object] = []
        for column, value in (
            ("cli_version", self.cli_version),
            ("os_arch", self.os_arch),
            ("command", self.command),
            ("is_interactive", self.interactive),
        ):
            if value is not None:
                conditions.append(f" AND {prefix}{column} = ?")
                params.append(value)
        return "".join(conditions), params

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
    """Today's date in UTC, the calendar the rollups use."""
    return dt.datetime.now(dt.UTC).date()


def parse_day(text: str, what: str = "date") -> dt.date:
    """A YYYY-MM-DD date."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{what} must be a date like 2025-01-31, not {text!r}") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise QueryError(f"{what} must be a day from {EARLIEST_DAY} to {LATEST_DAY}, not {text!r}")
    return day


def parse_since(text: str, today: dt.date | None = None) -> TimeRange:
    """`7d` (the last seven days, today included) or `4w` (the last 28 days)."""
    match = _SINCE.match(text.strip().lower())
    if not match:
        raise QueryError(f"since must look like 7d or 4w, not {text!r}")
    count = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if count > MAX_RANGE_DAYS:
        raise QueryError(f"a range may span at most {MAX_RANGE_DAYS} days")
    return TimeRange.last(count, today)


def parse_range(
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    today: dt.date | None = None,
) -> TimeRange:
    """A range from either `since` or explicit `start`/`end` days (end defaults to today)."""
    if since and (start or end):
        raise QueryError("give either since or from/to, not both")
    if start or end:
        today = today or utc_today()
        last = parse_day(end, "to") if end else today
        first = parse_day(start, "from") if start else last - dt.timedelta(days=29)
        return TimeRange(first, last)
    return parse_since(since or DEFAULT_SINCE, today)


def parse_interactive(text: str | None) -> bool | None:
    """`true`/`interactive` → True, `false`/`ci` → False, empty → None (any)."""
    if text is None or text.strip() == "" or text.strip().lower() == "any":
        return None
    value = text.strip().lower()
    if value in ("true", "1", "yes", "interactive"):
        return True
    if value in ("false", "0", "no", "ci", "script"):
        return False
    raise QueryError(f"interactive must be true or false, not {text!r}")


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key putting versions in release order: numeric parts compare as numbers."""
    parts = re.findall(r"\d+|[A-Za-z]+", version)
    key = tuple((1, int(p), "") if p.isdigit() else (0, 0, p.lower()) for p in parts)
    # The end marker sorts after a pre-release tag and before a further number, so that
    # 1.0.0rc1 < 1.0.0 < 1.0.0.1.
    return (*key, (0, 1, ""))
