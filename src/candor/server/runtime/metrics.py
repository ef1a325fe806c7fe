"""Counters and histograms for GET /metrics, in the Prometheus text format.

Labels are bounded sets chosen by the collector (status codes, rejection codes derived from
the schema's field names), never text a client chose, so a client cannot grow the series.
Updates are plain integer additions on the event loop (commit figures arrive with the store's
replies, see candor.server.store.committer), cheap enough for the hot path; no client library
needed.
"""

from __future__ import annotations

import bisect

# Upper bounds of the histogram buckets.
REQUEST_EVENTS_BUCKETS = (1, 2, 5, 10, 50, 100, 250, 500)
COMMIT_EVENTS_BUCKETS = (1, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000)
COMMIT_SECONDS_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Histogram:
    """Cumulative buckets, a sum and a count, as Prometheus expects."""

    __slots__ = ("bounds", "counts", "help", "name", "sum", "total")

    def __init__(self, name: str, help_: str, bounds: tuple[float, ...]) -> None:
        self.name = name
        self.help = help_
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.total = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.total += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, count in zip((*self.bounds, "+Inf"), self.counts, strict=True):
            running += count
            lines.append(f'{self.name}_bucket{{le="{bound}"}} {running}')
        lines += [f"{self.name}_sum {self.sum:.6f}", f"{self.name}_count {self.total}"]
        return lines


class Metrics:
    """Everything /metrics reports; one instance per app."""

    def __init__(self) -> None:
        self.events_accepted = 0
        self.events_rejected: dict[str, int] = {}  # rejection code -> events
        self.requests: dict[int, int] = {}  # status -> requests to POST /v1/event
        self.replayed = 0  # requests answered from a remembered Idempotency-Key
        self.commit_failures = 0
        self.request_events = Histogram(
            "candor_request_events", "Events per POST /v1/event request.", REQUEST_EVENTS_BUCKETS
        )
        self.commit_events = Histogram(
            "candor_commit_events", "Events stored per group commit.", COMMIT_EVENTS_BUCKETS
        )
        self.commit_requests = Histogram(
            "candor_commit_requests", "Requests answered per group commit.", COMMIT_EVENTS_BUCKETS
        )
        self.commit_seconds = Histogram(
            "candor_commit_seconds", "Seconds to commit one group.", COMMIT_SECONDS_BUCKETS
        )

    def request(self, status: int) -> None:
        self.requests[status] = self.requests.get(status, 0) + 1

    def rejected(self, code: str) -> None:
        self.events_rejected[code] = self.events_rejected.get(code, 0) + 1

    def render(self) -> str:
        lines = [
            "# HELP candor_events_accepted_total Events accepted and stored.",
            "# TYPE candor_events_accepted_total counter",
            f"candor_events_accepted_total {self.events_accepted}",
            "# HELP candor_events_rejected_total Events rejected, by reason.",
            "# TYPE candor_events_rejected_total counter",
        ]
        lines += [
            f'candor_events_rejected_total{{reason="{code}"}} {count}'
            for code, count in sorted(self.events_rejected.items())
        ]
        lines += [
            "# HELP candor_requests_total POST /v1/event requests, by answer status.",
            "# TYPE candor_requests_total counter",
        ]
        lines += [
            f'candor_requests_total{{status="{status}"}} {count}'
            for status, count in sorted(self.requests.items())
        ]
        lines += [
            "# HELP candor_replayed_requests_total Requests answered from an Idempotency-Key.",
            "# TYPE candor_replayed_requests_total counter",
            f"candor_replayed_requests_total {self.replayed}",
            "# HELP candor_commit_failures_total Group commits the store refused.",
            "# TYPE candor_commit_failures_total counter",
            f"candor_commit_failures_total {self.commit_failures}",
        ]
        for histogram in (
            self.request_events,
            self.commit_events,
            self.commit_requests,
            self.commit_seconds,
        ):
            lines += histogram.render()
        return "\n".join(lines) + "\n"
