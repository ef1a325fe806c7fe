"""The privacy floor of the public report: which cells may be published, as pure functions.

A figure is published only when it rests on at least K distinct installations. Hiding the small
cells is not enough when the table also publishes its total: the total minus the published
cells gives the hidden cells' sum, so with one small cell hidden its value is simply recovered.
`partition` therefore treats everything it does not publish as one group ("other") and makes
sure that group rests on at least K installations too, moving the smallest published cells
into it when needed (complementary suppression). Then the only figure anyone can derive about
the hidden cells is their sum, and that sum rests on K installations or more.

The union of the hidden cells' installations is not known exactly (distinct counts do not add
up), so the rule uses a lower bound that is certain: the largest hidden cell, or the total's
installations minus those of every published cell (an installation in the total but in no
published cell must be in a hidden one).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection

DEFAULT_MIN_INSTALLATIONS = 10
LOWEST_MIN_INSTALLATIONS = 2  # K = 1 would publish every installation's own figures


@dataclasses.dataclass(frozen=True, slots=True)
class Cell:
    """One figure of a table: its name, the distinct installations and events behind it."""

    name: str
    installations: int
    events: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Split:
    """A table after the floor: the cells shown and the cells withheld.

    `other_events` is the hidden cells' events together, published in the place of the
    difference anyone could compute from the total; None when nothing is hidden or the table
    has no published total. `withheld` means the whole table, total included, is not published.
    """

    published: tuple[Cell, ...]
    hidden: tuple[Cell, ...]
    other_events: int | None = None
    withheld: bool = False


def meets_floor(installations: int, k: int) -> bool:
    """Whether a figure resting on `installations` distinct installations may be published."""
    return installations >= k


def _shown(cell: Cell, k: int, forced: Collection[str]) -> bool:
    return meets_floor(cell.installations, k) and cell.name not in forced


def independent(
    cells: list[Cell] | tuple[Cell, ...], k: int, forced: Collection[str] = ()
) -> Split:
    """Cells that do not add up to any published figure: each one is shown or hidden alone.

    Cells named in `forced` are hidden whatever their size (a store's own "other" row).
    """
    return Split(
        published=tuple(c for c in cells if _shown(c, k, forced)),
        hidden=tuple(c for c in cells if not _shown(c, k, forced)),
    )


def hidden_installations_at_least(published: list[Cell], hidden: list[Cell], total: Cell) -> int:
    """A certain lower bound on the distinct installations of the hidden cells together.

    Assumes every installation of `total` is in at least one cell (true of a breakdown by
    command, platform or version over the same range).
    """
    if not hidden:
        return 0
    largest = max(c.installations for c in hidden)
    outside = total.installations - sum(c.installations for c in published)
    return max(largest, outside)


def partition(
    cells: list[Cell] | tuple[Cell, ...], total: Cell, k: int, forced: Collection[str] = ()
) -> Split:
    """Cells that add up to a published `total`: the floor plus complementary suppression.

    The total itself must meet the floor, or the whole table is withheld. Small cells are
    hidden; while the hidden ones together may rest on fewer than K installations, the
    smallest published cell joins them (its installations alone then reach K). Cells named in
    `forced` are hidden from the start.
    """
    if not meets_floor(total.installations, k):
        return Split(published=(), hidden=tuple(cells), withheld=True)
    published = sorted(
        (c for c in cells if _shown(c, k, forced)),
        key=lambda c: (-c.installations, -c.events, c.name),
    )
    hidden = [c for c in cells if not _shown(c, k, forced)]
    while hidden and published:
        if meets_floor(hidden_installations_at_least(published, hidden, total), k):
            break
        hidden.append(published.pop())  # the smallest: the least information lost
    # With every cell hidden, "other" is the total itself, which meets the floor.
    other = total.events - sum(c.events for c in published) if hidden else None
    order = {c.name: n for n, c in enumerate(cells)}
    return Split(
        published=tuple(sorted(published, key=lambda c: order[c.name])),
        hidden=tuple(sorted(hidden, key=lambda c: order[c.name])),
        other_events=other,
    )


def round_duration(milliseconds: int, digits: int = 2) -> int:
    """A duration to `digits` significant digits (1234 → 1200): a statistic, not one run's time.

    A nearest-rank percentile is the exact duration of one real run; rounding keeps the figure
    useful while no longer matching any single run to the millisecond.
    """
    if milliseconds <= 0:
        return 0
    scale = int(10 ** max(0, len(str(milliseconds)) - digits))
    return (milliseconds + scale // 2) // scale * scale  # half up, in integers
