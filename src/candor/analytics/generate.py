"""Synthetic events for demos and benchmarks (`candor generate`); the model lives in
`candor.storage.synthetic`, and each store inserts it in its own engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from candor.storage.synthetic import (
    BURST,
    COMMANDS,
    DEFAULT_DAYS,
    ERROR_CODES,
    LOOP_CODE,
    MAX_EVENTS,
    MAX_SEED,
    SLOW_COMMANDS,
    SLOW_VERSION,
    VERSIONS,
    SyntheticEvents,
)

if TYPE_CHECKING:
    import datetime as dt

    from candor.storage.base import Store

__all__ = [
    "BURST", "COMMANDS", "DEFAULT_DAYS", "ERROR_CODES", "LOOP_CODE", "MAX_EVENTS", "MAX_SEED",
    "SLOW_COMMANDS", "SLOW_VERSION", "VERSIONS", "SyntheticEvents", "generate_events",
]  # fmt: skip


def generate_events(
    store: Store,
    events: int,
    *,
    days: int = DEFAULT_DAYS,
    seed: int = 1,
    end: dt.datetime | None = None,
) -> int:
    """Add `events` synthetic events spread over the `days` before `end` (default: now, UTC)
    to `store`, its aggregates included; returns how many. ValueError for nonsense sizes."""
    return store.insert_synthetic(SyntheticEvents(events, days, seed, end))
