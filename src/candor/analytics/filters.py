"""What a question is asked about: a range of whole UTC days and optional filters.

Every analytics answer takes a `TimeRange` and a `Filters` (defined with the questions, in
`candor.storage.questions`, since every store answers for them); the terminal, the stats API and the
dashboard all build them with the parsers below, so "7d" means the same everywhere: the last
seven UTC days, today included. Ranges are whole days because the rollups are daily.

Parsers raise `QueryError` with a one-line reason, which the API answers as a 400.
"""

from __future__ import annotations

import datetime as dt
import re

from candor.analytics.durations import DurationError, parse_duration, whole_days
from candor.storage.questions import (
    MAX_RANGE_DAYS,
    NO_FILTERS,
    Filters,
    QueryError,
    TimeRange,
    utc_today,
)

DEFAULT_SINCE = "30d"
# The days a range may name: none before the epoch (no event was received then), and none so
# late that the day after it, where the range ends, nears the end of the calendar.
EARLIEST_DAY = dt.date(1970, 1, 1)
LATEST_DAY = dt.date(9998, 12, 31)


__all__ = [
    "DEFAULT_SINCE", "MAX_RANGE_DAYS", "NO_FILTERS", "Filters", "QueryError", "TimeRange",
    "parse_day", "parse_interactive", "parse_range", "parse_since", "utc_today", "version_key",
]  # fmt: skip


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
    """`7d` (the last seven days, today included), `24h` (today) or `4w` (the last 28 days)."""
    try:
        count = whole_days(parse_duration(text, "since"), text)
    except DurationError as error:
        raise QueryError(str(error)) from None
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
