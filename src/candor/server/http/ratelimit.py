"""Per-address token buckets, held in this process's memory only.

The policy says no IP address is ever stored: a bucket is found by a keyed hash of the
address (Python's own string hash, SipHash with a key random per process, of the address
and a salt random per limiter), so not even this dict holds an address, and
nothing here is persisted, logged or exported. Buckets of idle clients are dropped when the
table is full, so memory stays bounded whatever the traffic.
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

# Distinct addresses tracked at once (~100 bytes each): enough for a busy collector's active
# clients; past it, idle buckets are forgotten first, and a forgotten client starts full.
MAX_TRACKED_ADDRESSES = 100_000
# A 64-bit keyed hash: collisions are harmless (two clients share a bucket). hash() rather
# than hashlib: it is on every request's path, and costs a tenth as much.


class RateLimiter:
    """A token bucket per client: `rate` requests per second, bursts of up to `burst`."""

    __slots__ = ("_buckets", "_clock", "_max_tracked", "_salt", "burst", "rate")

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED_ADDRESSES,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_tracked = max_tracked
        self._salt = os.urandom(16).hex()
        self._buckets: dict[int, tuple[float, float]] = {}  # digest -> (tokens, at)

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, address: str) -> int:
        """Take one token for `address`: 0 when allowed, else whole seconds to wait (>= 1)."""
        digest = hash((self._salt, address))
        now = self._clock()
        tokens, at = self._buckets.get(digest, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[digest] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
        if digest not in self._buckets and len(self._buckets) >= self._max_tracked:
            self._forget_idle(now)
        self._buckets[digest] = (tokens - 1.0, now)
        return 0

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled (their clients look new again anyway)."""
        refill_s = self.burst / self.rate
        self._buckets = {
            digest: state for digest, state in self._buckets.items() if now - state[1] < refill_s
        }
        if len(self._buckets) >= self._max_tracked:
            # Every tracked client is active: forget the older half rather than grow.
            survivors = list(self._buckets.items())[self._max_tracked // 2 :]
            self._buckets = dict(survivors)
