"""Time ranges and filters parse the same way for the terminal, the API and the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest

from candor.analytics.filters import (
    MAX_RANGE_DAYS,
    Filters,
    QueryError,
    TimeRange,
    parse_interactive,
    parse_range,
    parse_since,
    version_key,
)

TODAY = dt.date(2025, 3, 10)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("1d", TODAY),
        ("7d", dt.date(2025, 3, 4)),
        ("2w", dt.date(2025, 2, 25)),
        (" 30D ", dt.date(2025, 2, 9)),
    ],
)
def test_since_counts_whole_days_including_today(text: str, start: dt.date) -> None:
    """`7d` is the seven UTC days ending today; weeks are seven days."""
    assert parse_since(text, TODAY) == TimeRange(start, TODAY)


@pytest.mark.parametrize(
    "text", ["", "7", "d7", "7 days", "-1d", "0d", "7y", f"{MAX_RANGE_DAYS + 1}d"]
)
def test_bad_since_is_a_query_error(text: str) -> None:
    """Anything but a positive count of days or weeks within the limit is refused in one line."""
    with pytest.raises(QueryError) as caught:
        parse_since(text, TODAY)
    assert "\n" not in str(caught.value)


def test_explicit_range() -> None:
    """from/to are inclusive dates; `to` defaults to today, `from` to 30 days before `to`."""
    assert parse_range(start="2025-03-01", end="2025-03-03", today=TODAY).days == 3
    assert parse_range(end="2025-03-30", today=TODAY).start == dt.date(2025, 3, 1)
    assert parse_range(start="2025-03-09", today=TODAY) == TimeRange(dt.date(2025, 3, 9), TODAY)
    assert parse_range(today=TODAY) == parse_since("30d", TODAY)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": "7d", "start": "2025-03-01"},
        {"start": "2025-03-05", "end": "2025-03-01"},
        {"start": "03/01/2025"},
        {"start": "2000-01-01", "end": "2025-01-01"},
    ],
)
def test_bad_ranges(kwargs: dict[str, str]) -> None:
    """Both kinds at once, a backwards range, a foreign date format, or a huge span: refused."""
    with pytest.raises(QueryError):
        parse_range(today=TODAY, **kwargs)


def test_filters_are_validated_against_the_schema() -> None:
    """A filter value the schema could never hold is refused before any SQL is built."""
    assert Filters(command="config set", os_arch="linux-x86_64").columns() == [
        ("os_arch", "linux-x86_64"),
        ("command", "config set"),
    ]
    for bad in (
        {"command": "build; DROP TABLE events"},
        {"os_arch": "amiga-m68k"},
        {"cli_version": "x" * 40},
    ):
        with pytest.raises(QueryError):
            Filters(**bad)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (None, None),
        ("", None),
        ("any", None),
        ("true", True),
        ("interactive", True),
        ("false", False),
        ("ci", False),
    ],
)
def test_interactive_filter_words(text: str | None, value: bool | None) -> None:
    """interactive=true/false (or interactive/ci); empty or any means both."""
    assert parse_interactive(text) is value


def test_versions_sort_in_release_order() -> None:
    """Numbers compare as numbers and a pre-release comes before its release."""
    versions = ["1.0.0", "0.10.0", "0.9.1", "1.0.0rc1", "1.0.0.1", "0.9.0"]
    assert sorted(versions, key=version_key) == [
        "0.9.0",
        "0.9.1",
        "0.10.0",
        "1.0.0rc1",
        "1.0.0",
        "1.0.0.1",
    ]
