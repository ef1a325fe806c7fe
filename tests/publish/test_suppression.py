"""The privacy floor as pure functions: examples, then hypothesis over random breakdowns."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from candor.analytics.publish.suppression import (
    Cell,
    independent,
    partition,
    round_duration,
)


def test_a_lone_small_cell_takes_the_smallest_shown_one_with_it() -> None:
    """One small cell beside a total would be total − the rest: the smallest big cell joins it."""
    cells = [Cell("a", 40, 400), Cell("b", 20, 150), Cell("c", 12, 90), Cell("d", 3, 7)]
    split = partition(cells, Cell("total", 40, 647), k=10)
    assert [c.name for c in split.published] == ["a", "b"]
    assert [c.name for c in split.hidden] == ["c", "d"]
    assert split.other_events == 97


def test_small_cells_that_together_reach_k_need_no_complement() -> None:
    """Installations outside every shown cell are in hidden ones: 30 − 20 = 10 reach K."""
    cells = [Cell("linux", 20, 500), Cell("mac", 6, 40), Cell("windows", 4, 9)]
    split = partition(cells, Cell("total", 30, 549), k=10)
    assert [c.name for c in split.published] == ["linux"]
    assert split.other_events == 49


def test_a_total_below_k_withholds_the_table() -> None:
    """Nothing is shown, not even the total, when it rests on fewer than K."""
    split = partition([Cell("a", 5, 50)], Cell("total", 9, 50), k=10)
    assert split.withheld and not split.published and split.other_events is None


def test_nothing_hidden_means_no_other() -> None:
    """Every cell at K or more: all shown, no "other"."""
    split = partition([Cell("a", 10, 1), Cell("b", 12, 2)], Cell("total", 15, 3), k=10)
    assert len(split.published) == 2 and not split.hidden and split.other_events is None


def test_a_stores_own_other_row_is_never_shown_as_it_is() -> None:
    """A forced name is hidden whatever its size, and counts towards "other"."""
    cells = [Cell("a", 30, 300), Cell("(other)", 25, 99), Cell("b", 12, 40)]
    split = partition(cells, Cell("total", 40, 439), k=10, forced=("(other)",))
    assert [c.name for c in split.published] == ["a", "b"]
    assert split.other_events == 99
    assert [c.name for c in independent(cells, 10, forced=("(other)",)).published] == ["a", "b"]


def test_independent_cells_stand_alone() -> None:
    """Without a published total, each cell is shown or hidden by its own installations."""
    split = independent([Cell("x", 10), Cell("y", 9), Cell("z", 1)], k=10)
    assert [c.name for c in split.published] == ["x"]


@st.composite
def breakdowns(draw: st.DrawFn) -> tuple[list[Cell], Cell, dict[str, set[int]], int]:
    """Installations each in one or more cells, with events; the cells, total, members and K."""
    names = [f"c{i}" for i in range(draw(st.integers(1, 8)))]
    members: dict[str, set[int]] = {name: set() for name in names}
    events = dict.fromkeys(names, 0)
    for installation in range(draw(st.integers(1, 60))):
        for name in draw(st.sets(st.sampled_from(names), min_size=1, max_size=3)):
            members[name].add(installation)
            events[name] += draw(st.integers(1, 50))
    cells = [Cell(n, len(members[n]), events[n]) for n in names if members[n]]
    everyone = set().union(*members.values())
    total = Cell("total", len(everyone), sum(events.values()))
    return cells, total, members, draw(st.integers(2, 15))


@settings(max_examples=400)
@given(breakdowns())
def test_no_hidden_group_is_ever_smaller_than_k(
    case: tuple[list[Cell], Cell, dict[str, set[int]], int],
) -> None:
    """Shown cells ≥ K; what subtraction reveals (the hidden cells together) rests on ≥ K."""
    cells, total, members, k = case
    split = partition(cells, total, k)
    assert sorted(c.name for c in (*split.published, *split.hidden)) == sorted(
        c.name for c in cells
    )
    if total.installations < k:
        assert split.withheld and not split.published
        return
    assert all(c.installations >= k for c in split.published)
    if split.hidden:
        together = set().union(*(members[c.name] for c in split.hidden))
        assert len(together) >= k
        assert split.other_events == total.events - sum(c.events for c in split.published)
        assert split.other_events == sum(c.events for c in split.hidden)
    else:
        assert split.other_events is None
    # Complementary suppression costs at most one cell that could have been shown.
    assert sum(c.installations >= k for c in split.hidden) <= 1


@given(st.integers(0, 2**31 - 1))
def test_durations_keep_two_significant_digits(milliseconds: int) -> None:
    """Rounded durations are within 5 % and have at most two significant digits."""
    rounded = round_duration(milliseconds)
    assert abs(rounded - milliseconds) <= max(0.05 * milliseconds, 0)
    assert len(str(rounded).rstrip("0") or "0") <= 2
