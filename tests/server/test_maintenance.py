"""Retention and key expiry: applied at start by the app, and by run_once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from candor.schema import FIELD_NAMES
from candor.server.runtime.maintenance import run_once
from candor.storage.base import IDEMPOTENCY_WINDOW, Submission, utc_now
from tests.support.load import make_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.testclient import TestClient

    from candor.storage.base import Store

POLL_LIMIT_S = 30.0


def event_dict() -> dict[str, object]:
    event = make_event()
    return {name: event[name] for name in FIELD_NAMES}


def test_run_once_prunes_old_events_and_expires_old_keys(store: Store) -> None:
    """Events older than the retention and keys older than the window go; recent ones stay."""
    now = utc_now()
    store.insert_events([event_dict()], now - timedelta(days=401))
    store.insert_events([event_dict()], now - timedelta(days=10))
    old = now - IDEMPOTENCY_WINDOW - timedelta(minutes=1)
    store.commit([Submission([], old, b"old", "old-key")], now=old)
    store.commit([Submission([], now, b"new", "new-key")], now=now)
    assert run_once(store, timedelta(days=400)) == (1, 1)
    assert store.query("SELECT count(*) FROM events") == [(1,)]
    assert store.query("SELECT key FROM idempotency_keys") == [("new-key",)]


def test_without_retention_events_are_kept(store: Store) -> None:
    """No retention: nothing is pruned, however old."""
    store.insert_events([event_dict()], utc_now() - timedelta(days=4000))
    assert run_once(store, None) == (0, 0)
    assert store.query("SELECT count(*) FROM events") == [(1,)]


def test_the_app_applies_retention_at_start(
    store: Store, make_client: Callable[..., TestClient]
) -> None:
    """With CANDOR_RETENTION the collector prunes older raw events as it starts."""
    store.insert_events([event_dict()], utc_now() - timedelta(days=30))
    store.insert_events([event_dict()], utc_now())
    make_client({"CANDOR_RETENTION": "7d"})
    deadline = time.monotonic() + POLL_LIMIT_S
    while store.query("SELECT count(*) FROM events") != [(1,)]:
        assert time.monotonic() < deadline, "old events were not pruned at start"
        time.sleep(0.02)  # polling interval
