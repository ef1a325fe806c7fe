"""The in-memory token buckets: refill, Retry-After, bounded size, no address kept."""

from __future__ import annotations

from candor.server.http import ratelimit
from candor.server.http.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    """A client gets `burst` requests at once, then one per 1/rate seconds."""
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(4)] == [0, 0, 0, 1]
    clock.now += 0.5  # one token back
    assert limiter.acquire("a") == 0
    assert limiter.acquire("a") == 1
    assert limiter.acquire("b") == 0  # another client has its own bucket


def test_retry_after_is_whole_seconds_until_a_token() -> None:
    """At 0.1 request/s an empty bucket asks for ten seconds."""
    limiter = RateLimiter(rate=0.1, burst=1, clock=Clock())
    assert limiter.acquire("a") == 0
    assert limiter.acquire("a") == 10


def test_no_address_is_kept_in_memory() -> None:
    """Buckets are keyed by a keyed hash: the address bytes appear nowhere in the table."""
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
    limiter.acquire("198.51.100.23")
    (digest,) = limiter._buckets
    assert isinstance(digest, int) and "198.51.100.23" not in repr(limiter._buckets)
    assert digest != hash("198.51.100.23")  # salted per limiter, not the bare string's hash
    other = RateLimiter(rate=1.0, burst=1, clock=Clock())
    other.acquire("198.51.100.23")
    assert set(other._buckets) != {digest}  # per-process key: not a stable pseudonym


def test_the_table_stays_bounded() -> None:
    """Past `max_tracked`, idle buckets go first, and the table never grows past it."""
    assert ratelimit.MAX_TRACKED_ADDRESSES >= 10_000  # the default: a busy collector's clients
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock, max_tracked=10)
    for index in range(10):
        limiter.acquire(f"idle-{index}")
    clock.now += 5  # all refilled: idle
    for index in range(25):
        limiter.acquire(f"busy-{index}")
        assert len(limiter) <= 10
