"""Concurrent posters for collector tests: each event is unique, every 2xx is remembered.

    load = Load(collector.event_url, threads=8)
    load.start(); load.wait_for(acknowledged=300); collector.kill(); load.join()
    assert load.acknowledged_ids() <= stored_ids

Each event carries a fresh installation_id, so the events a 202 acknowledged can be found in
the store one by one. Posters stop at their first transport error (the collector is gone)
or when told to; each thread's loop is bounded by `max_requests`.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from typing import Any

import httpx

MAX_WAIT_S = 60.0


def make_event(**overrides: Any) -> dict[str, Any]:
    """A valid event with a fresh installation_id (overrides replace fields)."""
    event: dict[str, Any] = {
        "event_version": "1.0",
        "installation_id": str(uuid.uuid4()),
        "cli_version": "0.2.1",
        "command": "build",
        "os_arch": "linux-x86_64",
        "duration_ms": random.randint(0, 10_000),
        "status": "success",
        "error_code": None,
        "is_interactive": False,
    }
    event.update(overrides)
    return event


class Load:
    """`threads` posters sending batches of 1..`max_batch` unique events, until stopped."""

    def __init__(
        self, url: str, *, threads: int = 8, max_batch: int = 20, max_requests: int = 2_000
    ) -> None:
        self.url = url
        self.max_batch = max_batch
        self.max_requests = max_requests
        self.sent: set[str] = set()
        self.acknowledged: set[str] = set()
        self.answers: dict[int, int] = {}  # status -> count
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._post_loop) for _ in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=MAX_WAIT_S)

    def wait_for(self, acknowledged: int) -> None:
        """Return once `acknowledged` events got a 2xx (or every poster has finished)."""
        deadline = time.monotonic() + MAX_WAIT_S
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.acknowledged) >= acknowledged:
                    return
            if not any(thread.is_alive() for thread in self._threads):
                return
            time.sleep(0.01)  # polling interval

    def _post_loop(self) -> None:
        with httpx.Client(timeout=30.0) as client:
            for _ in range(self.max_requests):
                if self._stop.is_set():
                    return
                batch = [make_event() for _ in range(random.randint(1, self.max_batch))]
                ids = {event["installation_id"] for event in batch}
                with self._lock:
                    self.sent |= ids
                try:
                    answer = client.post(self.url, json=batch)
                except httpx.TransportError:
                    return  # the collector is gone: whatever was in flight is unacknowledged
                with self._lock:
                    self.answers[answer.status_code] = self.answers.get(answer.status_code, 0) + 1
                    if answer.status_code == 202:
                        assert answer.json()["accepted"] == len(batch)
                        self.acknowledged |= ids
