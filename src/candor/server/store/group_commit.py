"""The group-commit loop: requests wait a little together, one store commit answers them all.

A commit costs a store much the same whatever it holds (DuckDB: a few statements and an
fsync; ClickHouse: one insert that makes a part), so committing each request on its own would
cap the collector near a few hundred requests/s. This loop takes every request that has
arrived, commits them in one `Store.commit`, answers the group with one `Reply`, lets the
store tidy up (`Store.tidy`), and starts over. How big a group may grow and how long its first
request may wait for others is the store's to say (`Store.batching`). A request is answered
only after its group's commit returned, so a 2xx always means stored.

It runs in the store process (`candor.server.store.process_end`, fed by the commit stream)
and, for a store opened in the collector's own process, in a thread
(`candor.server.store.local`, fed by a queue): the same code either way.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol

from candor.server.store.wire import Reply, Status
from candor.storage.base import StoreBroken, StoreError
from candor.storage.plan import first_group_size

if TYPE_CHECKING:
    from collections.abc import Callable

    from candor.storage.base import Batching, Store, Submission

log = logging.getLogger("candor.commit")


class Source(Protocol):
    """Where the loop's requests come from."""

    def take(self, timeout: float | None) -> list[Submission] | None:
        """The submissions that have arrived, oldest first. When none has, wait up to
        `timeout` seconds (None: as long as it takes) and return [] if still none; None once
        the source has ended and everything in it was taken."""
        ...


def commit_groups(
    source: Source, store: Store, answer: Callable[[Reply], None], batching: Batching
) -> None:
    """Commit what `source` holds, group by group, until it ends; `answer` each group's Reply.

    Raises StoreBroken (after answering its group) when the store must be reopened.
    """
    committed_at = time.monotonic()  # when the last commit started
    while True:
        waiting = source.take(0)
        if waiting == []:  # idle: the first request to arrive starts the group's clock
            waiting = source.take(None)
            first_at = time.monotonic()
        else:  # they arrived during the last commit
            first_at = committed_at
        if waiting is None:
            return
        ended = False
        deadline = first_at + batching.max_wait_s
        while sum(len(submission.events) for submission in waiting) < batching.max_events and (
            batching.max_requests is None or len(waiting) < batching.max_requests
        ):
            more = source.take(max(0.0, deadline - time.monotonic()))
            if more is None:
                ended = True
                break
            if not more:
                break
            waiting += more
        while waiting:
            size = first_group_size([len(s.events) for s in waiting], batching.max_events)
            group, waiting = waiting[:size], waiting[size:]
            committed_at = time.monotonic()
            reply, broken = commit(store, group)
            answer(reply)
            if broken is not None:
                if waiting:
                    answer(Reply(len(waiting), status=Status.STORE_FAILED, message=str(broken)))
                raise broken
        tidy(store)
        if ended:
            return


def commit(store: Store, group: list[Submission]) -> tuple[Reply, StoreBroken | None]:
    """Commit one group: its Reply, and the error if the store must be reopened."""
    started = time.perf_counter()
    try:
        outcomes = store.commit(group)
    except StoreBroken as error:
        return Reply(len(group), status=Status.STORE_FAILED, message=str(error)), error
    except StoreError as error:
        return Reply(len(group), status=Status.STORE_FAILED, message=str(error)), None
    except Exception:
        log.exception("a group commit failed")
        message = "the store process failed; it logged why"
        return Reply(len(group), status=Status.BUG, message=message), None
    replays = [(index, o.answer) for index, o in enumerate(outcomes) if o.replayed]
    events = sum(len(s.events) for s, o in zip(group, outcomes, strict=True) if not o.replayed)
    return Reply(len(group), events, time.perf_counter() - started, replays), None


def tidy(store: Store) -> None:
    """The store's deferred work, between commits; a failure is retried at the next."""
    try:
        store.tidy()
    except StoreBroken:
        raise
    except StoreError as error:
        log.warning("the store's upkeep between commits failed: %s", error)
    except Exception:
        log.exception("the store's upkeep between commits failed")
