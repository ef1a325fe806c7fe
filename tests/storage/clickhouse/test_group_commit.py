"""The ClickHouse store's group commits, through the collector's own group-commit loop
(candor.server.store.group_commit): a group ends at a second, at 10,000 events, or once it
holds half the collector's in-flight cap of requests, whichever comes first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from candor.schema import FIELD_NAMES
from candor.server.store.group_commit import commit_groups
from candor.storage import open_store
from candor.storage.base import Submission
from tests.support.load import make_event

if TYPE_CHECKING:
    from candor.server.store.wire import Reply


class Arrivals:
    """A Source whose requests have all arrived at once, and which then stays quiet: it logs
    each `take` and says whether the loop asked it to wait for more."""

    def __init__(self, submissions: list[Submission], log: list[str]) -> None:
        self.pending: list[Submission] | None = submissions
        self.log = log

    def take(self, timeout: float | None) -> list[Submission] | None:
        self.log.append("wait for more" if timeout is None or timeout > 0 else "look")
        if self.pending is None:
            return None  # ended: the loop commits what it holds and returns
        if timeout == 0 and self.pending and self.log.count("look") == 1:
            return []  # idle at first: the loop then waits for its first request
        taken, self.pending = self.pending, None
        return taken


def single_event(number: int) -> Submission:
    values = make_event()
    return Submission([tuple(values[name] for name in FIELD_NAMES)], None, b"{}", f"k-{number}")


def test_a_group_of_many_single_events_commits_without_waiting_out_the_second(
    chdb_url: str,
) -> None:
    """Single-event requests each wait for their group; with a second's wait and the
    collector's 1,000 requests in flight at most, a collector answered ~1,000 a second
    whatever its CPU. A group holding `max_requests` requests is committed at once."""
    store = open_store(chdb_url)
    try:
        requests = store.batching.max_requests
        assert requests is not None and requests <= 500  # half the in-flight cap, at most
        assert store.batching.max_wait_s >= 1.0  # still few inserts when requests are few
        log: list[str] = []
        replies: list[Reply] = []

        def answer(reply: Reply) -> None:
            log.append("committed")
            replies.append(reply)

        source = Arrivals([single_event(n) for n in range(requests)], log)
        commit_groups(source, store, answer, store.batching)
        assert store.count() == requests
    finally:
        store.close()
    # Committed straight after the group filled: the loop did not wait out the second first.
    assert log[: log.index("committed")] == ["look", "wait for more"], log
    assert [reply.count for reply in replies] == [requests]
