"""SQL result rows → answers: the arithmetic the queries leave to Python.

Kept apart from `queries.py` so the SQL and the shaping each stay readable. The row layouts are
the SELECT lists of the query that feeds each function (GROUPING SETS queries carry their
`grouping()` flags first: 0 means the column is one of the set's keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.analytics.answers import (
    ErrorCount,
    FailureRate,
    Platforms,
    Share,
    VersionLatency,
    VersionShare,
    VersionSummary,
    ratio,
)
from candor.analytics.filters import version_key

if TYPE_CHECKING:
    from collections.abc import Sequence

Rows = list[tuple[Any, ...]]

# A release is flagged when its p90 is at least this much worse than the previous release's…
REGRESSION_RATIO = 1.25
# …and both have this many runs, so that at least twenty lie above each p90: on generated data
# with no regression, the p90 of ~100 runs still moved by 30 % from chance alone.
REGRESSION_MIN_EVENTS = 200
MAX_ERROR_ROWS = 200  # error codes are declared by the CLI, so this is only a safety net


def version_latencies(rows: Rows) -> list[VersionLatency]:
    """(command, cli_version, n, [p50, p90, p99], max) → rows with the previous release's p90."""
    by_command: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_command.setdefault(row[0], []).append(row)
    answer: list[VersionLatency] = []
    for command in sorted(by_command):
        previous: tuple[Any, ...] | None = None
        for row in sorted(by_command[command], key=lambda r: version_key(r[1])):
            _, version, n, (p50, p90, p99), top = row
            change = ratio(p90, previous[3][1]) if previous and previous[3][1] else None
            answer.append(
                VersionLatency(
                    command=command,
                    cli_version=version,
                    events=int(n),
                    p50=int(p50),
                    p90=int(p90),
                    p99=int(p99),
                    max=int(top),
                    previous_version=previous[1] if previous else None,
                    p90_ratio=change,
                    regression=bool(
                        previous
                        and change is not None
                        and change >= REGRESSION_RATIO
                        and n >= REGRESSION_MIN_EVENTS
                        and previous[2] >= REGRESSION_MIN_EVENTS
                    ),
                )
            )
            previous = row
    return answer


def error_answers(rows: Rows) -> tuple[list[ErrorCount], list[ErrorCount]]:
    """(grouping(command), command, code, events, installations) → (top, per command)."""
    top = [
        ErrorCount(code, int(events), int(installs))
        for grouped, _, code, events, installs in rows
        if grouped == 1
    ]
    by_command = [
        ErrorCount(code, int(events), int(installs), command)
        for grouped, command, code, events, installs in rows
        if grouped == 0
    ]
    top.sort(key=lambda e: (-e.events, -e.installations, e.error_code))
    by_command.sort(key=lambda e: (e.command or "", -e.events, -e.installations, e.error_code))
    return top[:MAX_ERROR_ROWS], by_command[:MAX_ERROR_ROWS]


def failure_rates(sums: Rows, failing: Rows) -> tuple[list[FailureRate], list[FailureRate]]:
    """(command, version, events, failures) and (by_version, name, installations failing)."""
    totals: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
    for command, version, events, failures in sums:
        for by, name in ((0, command), (1, version)):
            pair = totals[by].setdefault(name, [0, 0])
            pair[0] += int(events)
            pair[1] += int(failures)
    hit = {(int(by), name): int(count) for by, name, count in failing}
    by_command, by_version = (
        [
            FailureRate(name, events, failures, ratio(failures, events), hit.get((by, name), 0))
            for name, (events, failures) in totals[by].items()
        ]
        for by in (0, 1)
    )
    by_command.sort(key=lambda r: (-r.rate, -r.events, r.name))
    by_version.sort(key=lambda r: version_key(r.name))
    return by_command, by_version


def version_shares(rows: Rows) -> list[VersionShare]:
    """(grouping(day), grouping(version), day, version, installs, first day) → daily shares."""
    active = {
        day: installs for g_day, g_ver, day, _, installs, _ in rows if (g_day, g_ver) == (0, 1)
    }
    daily = [
        VersionShare(day, version, int(installs), ratio(installs, active.get(day, 0)))
        for g_day, g_ver, day, version, installs, _ in rows
        if (g_day, g_ver) == (0, 0)
    ]
    daily.sort(key=lambda v: (v.day, version_key(v.cli_version)))
    return daily


def summarize_versions(rows: Rows, daily: Sequence[VersionShare]) -> list[VersionSummary]:
    """Each version over the range: installations, share, share on the last active day."""
    total = next((r[4] for r in rows if (r[0], r[1]) == (1, 1)), 0)
    last_day = max((v.day for v in daily), default=None)
    latest = {v.cli_version: v.share for v in daily if v.day == last_day}
    answer = [
        VersionSummary(
            cli_version=version,
            installations=int(installs),
            share=ratio(installs, total),
            latest_share=latest.get(version, 0.0),
            first_day=first_day,
        )
        for g_day, g_ver, _, version, installs, first_day in rows
        if (g_day, g_ver) == (1, 0)
    ]
    return sorted(answer, key=lambda v: version_key(v.cli_version))


def platform_shares(rows: Rows) -> Platforms:
    """(grouping(os_arch), grouping(is_interactive), os_arch, interactive, events, installs)."""
    totals = next(((r[4], r[5]) for r in rows if (r[0], r[1]) == (1, 1)), (0, 0))

    def share(name: str, events: int, installs: int) -> Share:
        return Share(
            name,
            int(events),
            int(installs),
            ratio(events, totals[0]),
            ratio(installs, totals[1]),
        )

    os_arch = [share(os, ev, ins) for g_os, g_in, os, _, ev, ins in rows if (g_os, g_in) == (0, 1)]
    interactive = [
        share("interactive" if flag else "ci", ev, ins)
        for g_os, g_in, _, flag, ev, ins in rows
        if (g_os, g_in) == (1, 0)
    ]
    os_arch.sort(key=lambda s: (-s.events, s.name))
    interactive.sort(key=lambda s: s.name != "interactive")
    return Platforms(os_arch, interactive)
