"""How many waiting submissions one group commit takes (shared by both committers)."""

from __future__ import annotations

import pytest

from candor.storage.plan import MAX_COMMIT_EVENTS, first_group_size

LIMIT = MAX_COMMIT_EVENTS


@pytest.mark.parametrize(
    ("event_counts", "taken"),
    [
        ([], 0),
        ([1], 1),
        ([1] * 10, 10),
        ([0, 0, 3], 3),  # replays and empty submissions carry no events
        ([LIMIT, 1], 1),
        ([LIMIT + 10, 1], 1),  # one submission alone may exceed the limit: never stuck
        ([LIMIT // 2, LIMIT // 2, 1], 2),
        ([LIMIT // 2, LIMIT // 2 + 1], 1),
    ],
)
def test_a_group_holds_what_fits_and_never_nothing(event_counts: list[int], taken: int) -> None:
    assert first_group_size(event_counts) == taken
