"""The one grammar for every age a flag or query takes: `--since`, `--retention`, `since=`.

A whole number and a unit: `s`, `min`, `h`, `d` or `w` (`90s`, `30min`, `24h`, `400d`, `4w`).
A bare `m` is refused: `1m` read as one minute once made `--retention 1m` delete nearly every
event of a store whose operator meant one month.
"""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^(\d{1,9})\s*([a-z]+)$")
_EXAMPLES = "like 90s, 30min, 24h, 400d or 4w"


class DurationError(ValueError):
    """Text that is no duration in the grammar above; the message is one line with a hint."""


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """'90s', '30min', '24h', '400d', '4w' → timedelta (any case; a space may precede the unit)."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise DurationError(f"{what} {text!r}: use a whole number and a unit, {_EXAMPLES}")
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "m":
        raise DurationError(
            f"{what} {text!r} is ambiguous: write {amount}min for minutes, "
            f"or {amount * 30}d for {amount} month{'s' if amount != 1 else ''}"
        )
    if unit not in UNITS:
        raise DurationError(f"{what} {text!r}: the unit is one of s, min, h, d, w, {_EXAMPLES}")
    try:
        return timedelta(**{UNITS[unit]: amount})
    except OverflowError:
        raise DurationError(f"{what} {text!r} is too long") from None


def whole_days(duration: timedelta, text: str, what: str = "since") -> int:
    """The number of days `duration` spans; DurationError unless it is a positive whole number."""
    if duration <= timedelta(0) or duration % timedelta(days=1):
        raise DurationError(
            f"{what} {text!r}: ranges are whole UTC days, so use a multiple of 24h, like 1d or 7d"
        )
    return duration.days


MIN_RETENTION = timedelta(days=1)
_KEEP_EVERYTHING = ("", "0", "off", "none", "never")


def parse_retention(text: str) -> timedelta | None:
    """How long raw events are kept: a duration of at least a day; '', 0, off, none, never → None.

    Less than a day is refused: it would delete today's events, and is always a mistake for a
    limit whose job is keeping a year or so.
    """
    if text.strip().lower() in _KEEP_EVERYTHING:
        return None
    retention = parse_duration(text, "retention")
    if retention < MIN_RETENTION:
        raise DurationError(
            f"retention {text!r} is under one day, the least it may be "
            "(400d keeps about a year; a bare number and m is no month)"
        )
    return retention
