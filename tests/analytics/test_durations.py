"""One duration grammar for every flag: s, min, h, d, w; a bare m refused; retention >= 1 day."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest

from candor.analytics.durations import DurationError, parse_duration, parse_retention
from candor.analytics.filters import QueryError, TimeRange, parse_since
from candor.server.runtime.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30min", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("400d", timedelta(days=400)),
        ("4w", timedelta(weeks=4)),
        (" 12 H ", timedelta(hours=12)),
    ],
)
def test_every_unit(text: str, expected: timedelta) -> None:
    """A whole number and one of the five units, in any case."""
    assert parse_duration(text) == expected


def test_a_bare_m_is_ambiguous_with_a_hint() -> None:
    """`1m` could be a minute or a month: refused, with both spellings suggested."""
    with pytest.raises(DurationError, match=r"'1m' is ambiguous: write 1min .* 30d for 1 month"):
        parse_duration("1m")


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "-1d", "1.5d", "3mo", "2y"])
def test_anything_else_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert "\n" not in str(caught.value)


def test_since_and_retention_read_the_same_grammar() -> None:
    """`--since 24h` is today; `--retention 4w` is 28 days; both read what the other reads."""
    today = dt.date(2025, 3, 10)
    assert parse_since("24h", today) == TimeRange(today, today)
    assert parse_since("1w", today) == parse_since("7d", today) == parse_since("168h", today)
    assert Settings.from_environ({}, retention="4w").retention == timedelta(days=28)
    assert parse_retention("96h") == timedelta(days=4)


def test_since_counts_whole_days_only() -> None:
    with pytest.raises(QueryError, match="whole UTC days"):
        parse_since("36h", dt.date(2025, 3, 10))


@pytest.mark.parametrize("text", ["1m", "12h", "90s", "30min", "0d"])
def test_a_retention_under_a_day_is_refused(text: str) -> None:
    """`--retention 1m` once deleted nearly the whole store; nothing under a day is accepted."""
    with pytest.raises(SettingsError, match="retention"):
        Settings.from_environ({"CANDOR_RETENTION": text})


@pytest.mark.parametrize("text", ["", "0", "off", "none", "never"])
def test_off_keeps_everything(text: str) -> None:
    assert parse_retention(text) is None
