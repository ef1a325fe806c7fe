"""What one group commit stores: the pure-Python half of `Store.commit`, the same for every store.

A group holds many requests' submissions. Some carry an Idempotency-Key that the store already
holds (a retry: answered as the first time, nothing stored), or that an earlier submission of
the same group uses (the later one is that one's replay). The store learns which keys it holds
in its own way; `CommitPlan.resolve` then says what to answer and which rows to store, each
with its received_at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.storage.base import Outcome, naive_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from candor.storage.base import Submission

# Events in one transaction at most: bounds the memory and latency of one commit (100
# requests of 500 events); what is left waits for the next commit, which starts at once.
MAX_COMMIT_EVENTS = 50_000


def first_group_size(event_counts: Sequence[int], max_events: int = MAX_COMMIT_EVENTS) -> int:
    """How many of the waiting submissions (their event counts, oldest first) one commit takes:
    as many as fit in `max_events`, and always at least one."""
    events = 0
    for taken, size in enumerate(event_counts):
        events += size
        if events > max_events and taken > 0:
            return taken
    return len(event_counts)


# One row of the events table: the event's values in FIELD_NAMES order, then received_at.
StoredRow = tuple[Any, ...]


class Resolution:
    """The answers of a group, and the rows to store for it."""

    __slots__ = ("earliest", "latest", "outcomes", "rows")

    def __init__(
        self,
        outcomes: list[Outcome],
        rows: list[StoredRow],
        earliest: datetime | None,
        latest: datetime | None,
    ) -> None:
        self.outcomes = outcomes  # one per submission, in order
        self.rows = rows  # the events of the submissions not replayed, with received_at
        self.earliest = earliest  # the smallest received_at among `rows` (None: no rows)
        self.latest = latest  # and the largest


class CommitPlan:
    """The keys of a group of submissions, before the store is asked about them."""

    __slots__ = ("answers", "first_use", "keys", "submissions")

    def __init__(self, submissions: Sequence[Submission]) -> None:
        self.submissions = submissions
        self.first_use: dict[str, int] = {}  # key -> the submission that uses it first here
        for index, submission in enumerate(submissions):
            if submission.key is not None:
                self.first_use.setdefault(submission.key, index)
        self.keys = list(self.first_use)  # each key once, to look up or to remember
        self.answers = [submissions[index].answer for index in self.first_use.values()]

    def resolve(self, held: Mapping[str, bytes], commit_time: Callable[[], datetime]) -> Resolution:
        """The outcome of each submission once the keys the store held are known.

        `held` maps each such key to its remembered answer. `commit_time()` gives the
        received_at of submissions without one of their own (called at most once).
        """
        outcomes: list[Outcome] = []
        rows: list[StoredRow] = []
        stamp: datetime | None = None
        earliest: datetime | None = None
        latest: datetime | None = None
        for index, submission in enumerate(self.submissions):
            key = submission.key
            if key is not None:
                if key in held:
                    outcomes.append(Outcome(held[key], replayed=True))
                    continue
                first = self.first_use[key]
                if first != index:  # a second use within this same group
                    outcomes.append(Outcome(self.submissions[first].answer, replayed=True))
                    continue
            outcomes.append(Outcome(submission.answer, replayed=False))
            if not submission.events:
                continue
            at = submission.received_at
            if at is None:
                stamp = stamp or commit_time()
                at = stamp
            else:
                at = naive_utc(at)
            rows += [(*event, at) for event in submission.events]
            if earliest is None or at < earliest:
                earliest = at
            if latest is None or at > latest:
                latest = at
        return Resolution(outcomes, rows, earliest, latest)
