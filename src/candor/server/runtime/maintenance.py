"""Daily housekeeping while the collector runs: forget old idempotency keys, apply retention.

Runs once at start, then every MAINTENANCE_INTERVAL, on the writer's lock via a thread so the
event loop keeps answering. A failure is logged and retried at the next run, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from candor.storage.base import IDEMPOTENCY_WINDOW, StoreError, utc_now

if TYPE_CHECKING:
    from candor.storage.base import Store

MAINTENANCE_INTERVAL = timedelta(days=1)

log = logging.getLogger("candor.maintenance")


def run_once(store: Store, retention: timedelta | None) -> tuple[int, int]:
    """Expire keys older than the idempotency window and, with a retention, old events.

    Returns (keys forgotten, events pruned).
    """
    now = utc_now()
    keys = store.expire_keys(now - IDEMPOTENCY_WINDOW)
    events = store.prune(now - retention) if retention is not None else 0
    return keys, events


async def run_forever(store: Store, retention: timedelta | None) -> None:
    """`run_once` at start and then daily, until cancelled (by the app's shutdown)."""
    while True:
        try:
            keys, events = await asyncio.to_thread(run_once, store, retention)
        except StoreError as error:
            log.warning("maintenance failed, retrying in a day: %s", error)
        else:
            if keys or events:
                log.info("maintenance: forgot %d idempotency keys, pruned %d events", keys, events)
        await asyncio.sleep(MAINTENANCE_INTERVAL.total_seconds())
