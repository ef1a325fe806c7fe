"""A store's question rows (`candor.storage.questions`) → answers: the arithmetic and order
that are the same on every backend (shares, ratios, the previous release, regressions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

    from candor.storage.questions import (
        ErrorTally,
        FailureTally,
        Percentiles,
        PlatformCounts,
        VersionDay,
        VersionTotal,
    )

# A release is flagged when its p90 is at least this much worse than the previous release's…
REGRESSION_RATIO = 1.25
# …and both have this many runs, so that at least twenty lie above each p90: on generated data
# with no regression, the p90 of ~100 runs still moved by 30 % from chance alone.
REGRESSION_MIN_EVENTS = 200
MAX_ERROR_ROWS = 200  # error codes are declared by the CLI, so this is only a safety net


def version_latencies(rows: Sequence[Percentiles]) -> list[VersionLatency]:
    """Percentiles per command and version → rows with the previous release's p90."""
    by_command: dict[str, list[Percentiles]] = {}
    for row in rows:
        by_command.setdefault(row.command, []).append(row)
    answer: list[VersionLatency] = []
    for command in sorted(by_command):
        previous: Percentiles | None = None
        for row in sorted(by_command[command], key=lambda r: version_key(r.cli_version or "")):
            change = ratio(row.p90, previous.p90) if previous and previous.p90 else None
            answer.append(
                VersionLatency(
                    command=command,
                    cli_version=row.cli_version or "",
                    events=row.events,
                    p50=row.p50,
                    p90=row.p90,
                    p99=row.p99,
                    max=row.max,
                    previous_version=previous.cli_version if previous else None,
                    p90_ratio=change,
                    regression=bool(
                        previous
                        and change is not None
                        and change >= REGRESSION_RATIO
                        and row.events >= REGRESSION_MIN_EVENTS
                        and previous.events >= REGRESSION_MIN_EVENTS
                    ),
                )
            )
            previous = row
    return answer


def error_answers(
    by_code: Sequence[ErrorTally], by_command_and_code: Sequence[ErrorTally]
) -> tuple[list[ErrorCount], list[ErrorCount]]:
    """Failures per code, and per command and code → (top, per command), most first."""
    top = [ErrorCount(e.error_code, e.events, e.installations) for e in by_code]
    by_command = [
        ErrorCount(e.error_code, e.events, e.installations, e.command) for e in by_command_and_code
    ]
    top.sort(key=lambda e: (-e.events, -e.installations, e.error_code))
    by_command.sort(key=lambda e: (e.command or "", -e.events, -e.installations, e.error_code))
    return top[:MAX_ERROR_ROWS], by_command[:MAX_ERROR_ROWS]


def failure_rates(
    by_command: Sequence[FailureTally], by_version: Sequence[FailureTally]
) -> tuple[list[FailureRate], list[FailureRate]]:
    """Events, failures and installations failing per command and per version → rates."""
    commands, versions = (
        [
            FailureRate(t.name, t.events, t.failures, ratio(t.failures, t.events),
                        t.installations_failing)
            for t in tallies
        ]
        for tallies in (by_command, by_version)
    )  # fmt: skip
    commands.sort(key=lambda r: (-r.rate, -r.events, r.name))
    versions.sort(key=lambda r: version_key(r.name))
    return commands, versions


def version_shares(rows: Sequence[VersionDay]) -> list[VersionShare]:
    """Installations per day and version (and per day: version None) → daily shares."""
    active = {row.day: row.installations for row in rows if row.cli_version is None}
    daily = [
        VersionShare(row.day, row.cli_version, row.installations,
                     ratio(row.installations, active.get(row.day, 0)))
        for row in rows
        if row.cli_version is not None
    ]  # fmt: skip
    daily.sort(key=lambda v: (v.day, version_key(v.cli_version)))
    return daily


def summarize_versions(
    versions: Sequence[VersionTotal], total: int, daily: Sequence[VersionShare]
) -> list[VersionSummary]:
    """Each version over the range: installations, share, share on the last active day."""
    last_day = max((v.day for v in daily), default=None)
    latest = {v.cli_version: v.share for v in daily if v.day == last_day}
    answer = [
        VersionSummary(
            cli_version=v.cli_version,
            installations=v.installations,
            share=ratio(v.installations, total),
            latest_share=latest.get(v.cli_version, 0.0),
            first_day=v.first_day,
        )
        for v in versions
    ]
    return sorted(answer, key=lambda v: version_key(v.cli_version))


def platform_shares(counts: PlatformCounts) -> Platforms:
    """Events and installations per os_arch and per interactive/CI → their shares."""
    total = counts.total

    def share(name: str, events: int, installs: int) -> Share:
        return Share(
            name,
            events,
            installs,
            ratio(events, total.events),
            ratio(installs, total.installations),
        )

    os_arch = [share(t.name or "", t.events, t.installations) for t in counts.os_arch]
    interactive = [
        share("interactive" if t.interactive else "ci", t.events, t.installations)
        for t in counts.interactive
    ]
    os_arch.sort(key=lambda s: (-s.events, s.name))
    interactive.sort(key=lambda s: s.name != "interactive")
    return Platforms(os_arch, interactive)
