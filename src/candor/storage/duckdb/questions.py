"""The analytics questions (`candor.storage.questions`) in DuckDB SQL, over the daily rollups.

Counts and distinct installations come from the rollups (`candor.storage.duckdb.rollups`).
Distinct installations are exact: each group of a query gets a bitmap of the dense installation
numbers it saw (`bitstring_agg`), and its count is the number of bits set. Coarser groups OR
their finer groups' bitmaps (`bit_or`), so one pass answers, say, installations per version per
day, per day, per version and in total.

Memory stays bounded whatever the data (issue #9: 300 000 installation IDs and 5 000 versions,
posted by anyone, made every bitmap 37 KB and the groups countless, and DuckDB ran out of
memory). Two things bound it:

- a dimension whose values the sender chooses (command, cli_version, error_code) is grouped
  by its `TOP_VALUES` most used values plus one `OTHER` group, so a query has few groups;
- a question whose bitmaps would pass `BITMAP_BUDGET_BYTES` (many groups × many
  installations) runs in passes over disjoint ranges of installation numbers, each within the
  budget, and adds their counts up: sums and distinct counts over disjoint installations add
  up exactly. Ordinary data needs one pass.

Sums (events, failures, the filter menus, the top values) come from the small per-day counts,
and the unfiltered installation counts from per-day bitmaps of the active installations: only
questions that split installations by a dimension, or filter them, read the per-installation
rows.

Duration percentiles are exact nearest-rank values without sorting every duration of the range
(`quantile_disc` over 10 M raw durations took ~250 ms and, beside the dashboard's other
queries, could run out of the collector's 96 MB): the runs per duration bucket (ranges of
durations in order) say which bucket holds each percentile's rank and its rank within the
bucket, and then only the durations of those few buckets are counted out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from candor.schema import ARCH_NAMES, OS_NAMES
from candor.storage.questions import (
    OTHER,
    TOP_VALUES,
    Breakdown,
    DayCount,
    DimensionValues,
    ErrorCounts,
    ErrorTally,
    FailureTally,
    InstallationCounts,
    InteractiveTally,
    Percentiles,
    PlatformCounts,
    Tally,
    Totals,
    VersionCounts,
    VersionDay,
    VersionTotal,
    WeekCount,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from candor.storage.questions import Filters, TimeRange

    Read = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]
    Rows = list[tuple[Any, ...]]
    # (dimension column) → its most used values in the scope, and whether there are more
    Tops = Callable[[str], tuple[list[str], bool]]

USAGE = "rollup_daily_usage"
ERRORS = "rollup_daily_errors"
COUNTS = "rollup_daily_counts"
DURATIONS = "rollup_daily_durations"
ACTIVE = "rollup_daily_active"
REACH = "rollup_daily_reach"
PERCENTS = (50, 90, 99)  # the percentiles `Percentiles` holds, in its order
# Bitmaps one statement may build: a query needing more runs in passes. With the collector's
# default 96 MB limit, a third of it (each bitmap lives twice: the groups and their states).
BITMAP_BUDGET_BYTES = 16 * 2**20
MIN_PASS_BITS = 1 << 16  # installation numbers per pass at least: passes stay few
OS_ARCHS = len(OS_NAMES) * len(ARCH_NAMES)  # the schema bounds os_arch


def literal(value: object) -> str:
    """A SQL literal for a filter or dimension value (validated text, a bool, a date)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return f"DATE '{value}'"


class Scope:
    """One question's range and filters, turned into SQL over a rollup or the raw events."""

    def __init__(
        self, read: Read, time_range: TimeRange, filters: Filters, max_iid: int, tops: Tops
    ) -> None:
        self.read = read
        self.time_range = time_range
        self.filters = filters
        # The bitmaps' size, fixed before the statement: installations that arrive meanwhile
        # are left out (iid ≤ max_iid) rather than overflow.
        self.max_iid = max_iid
        self.tops = tops

    @property
    def filtered(self) -> bool:
        """Whether any filter is set."""
        return bool(self.filters.columns())

    def conditions(self) -> str:
        """` AND column = value` for each filter."""
        return "".join(f" AND {column} = {literal(v)}" for column, v in self.filters.columns())

    def days(self) -> str:
        """The rollup rows of the range."""
        return f"day BETWEEN {literal(self.time_range.start)} AND {literal(self.time_range.end)}"

    def rows(self) -> str:
        """The rollup rows of the range and filters (tables without installations)."""
        return f"{self.days()}{self.conditions()}"

    def where(self, lo: int = 1, hi: int | None = None) -> str:
        """The rollup rows of the range and filters, of installation numbers lo..hi."""
        hi = self.max_iid if hi is None else hi
        return f"{self.days()} AND iid BETWEEN {lo} AND {hi}{self.conditions()}"

    def distinct(self, columns: str) -> int:
        """How many values `columns` take in the scope (at least as many as their groups)."""
        ((found,),) = self.read(
            f"SELECT count(DISTINCT ({columns})) FROM {COUNTS} WHERE {self.rows()}", ()
        )
        return int(found)

    def dimension(self, column: str, over: str | None = None) -> tuple[str, int]:
        """SQL for `column` (or the expression `over` holding its values) grouped as its top
        values plus OTHER, and how many groups at most."""
        values, more = self.tops(column)
        over = over or column
        if not more:
            return over, max(1, len(values))
        listed = ", ".join(literal(value) for value in values)
        return f"CASE WHEN {over} IN ({listed}) THEN {over} ELSE {literal(OTHER)} END", len(
            values
        ) + 1

    def reach(self, dimension: str, value: str, *, per_day: bool = False) -> str:
        """SQL: a relation (group, [day,] block, b) of the installations per `value` (SQL over
        the dimension's `value`) in the range, from the per-day bitmaps of the dimension."""
        day = "day, " if per_day else ""
        return (
            f"(SELECT {value} AS grp, {day}block, bit_or(active) AS b FROM {REACH} "
            f"WHERE {self.days()} AND dimension = {literal(dimension)} GROUP BY ALL)"
        )

    def all_installations(self) -> str:
        """SQL: a scalar subquery, the installations active in the range (no filter)."""
        return (
            f"(SELECT coalesce(sum(bit_count(a)), 0) FROM (SELECT bit_or(active) AS a "
            f"FROM {ACTIVE} WHERE {self.days()} GROUP BY block))"
        )

    def passes(self, bitmaps: int) -> list[tuple[int, int]]:
        """Ranges of installation numbers, each small enough for `bitmaps` bitmaps."""
        if self.max_iid == 0:
            return [(1, 0)]
        bits = max(MIN_PASS_BITS, BITMAP_BUDGET_BYTES * 8 // max(1, 2 * bitmaps))
        count = math.ceil(self.max_iid / bits)
        step = math.ceil(self.max_iid / count)
        return [(lo, min(self.max_iid, lo + step - 1)) for lo in range(1, self.max_iid + 1, step)]

    def in_passes(self, bitmaps: int, statement: Callable[[int, int], str], keys: int) -> Rows:
        """Run `statement(lo, hi)` once per pass; rows with equal `keys` first columns are
        added up (their other columns: sums, except dates, which take the earliest)."""
        combined: dict[tuple[Any, ...], list[Any]] = {}
        for lo, hi in self.passes(bitmaps):
            for row in self.read(statement(lo, hi), ()):
                key, values = row[:keys], list(row[keys:])
                seen = combined.get(key)
                if seen is None:
                    combined[key] = values
                    continue
                for index, value in enumerate(values):
                    if value is None or seen[index] is None:
                        seen[index] = seen[index] if value is None else value
                    elif isinstance(value, int):
                        seen[index] += value
                    else:
                        seen[index] = min(seen[index], value)
        return [(*key, *values) for key, values in combined.items()]


def bitmap(lo: int, hi: int, condition: str | None = None) -> str:
    """SQL aggregate: the set of installations lo..hi (of the rows meeting `condition`)."""
    if hi < lo:
        return "NULL::BITSTRING"
    where = f" FILTER (WHERE {condition})" if condition else ""
    return f"bitstring_agg(iid, {lo}, {hi}){where}"


def count(bitmap_sql: str) -> str:
    """SQL: how many installations a bitmap holds (0 for none)."""
    return f"coalesce(bit_count({bitmap_sql}), 0)"


def usage_totals(scope: Scope) -> Totals:
    ((events, failures, interactive, commands),) = scope.read(
        "SELECT coalesce(sum(events), 0), coalesce(sum(failures), 0), "
        "coalesce(sum(events) FILTER (WHERE is_interactive), 0), count(DISTINCT command) "
        f"FROM {COUNTS} WHERE {scope.rows()}",
        (),
    )
    if scope.filtered:

        def statement(lo: int, hi: int) -> str:
            return (
                f"SELECT {count(bitmap(lo, hi))}, {count(bitmap(lo, hi, 'is_new'))} "
                f"FROM {USAGE} WHERE {scope.where(lo, hi)}"
            )

        # no row at all when no installation is numbered yet (no pass sets a bit)
        active, new = next(iter(scope.in_passes(2, statement, 0)), (0, 0))
    else:
        ((active, new),) = scope.read(
            "SELECT coalesce(sum(bit_count(a)), 0), coalesce(sum(bit_count(n)), 0) FROM "
            f"(SELECT bit_or(active) AS a, bit_or(new) AS n FROM {ACTIVE} "
            f"WHERE {scope.days()} GROUP BY block)",
            (),
        )
    return Totals(
        int(events), int(failures), int(active), int(new), int(interactive), int(commands)
    )


def command_counts(scope: Scope) -> Breakdown:
    if not scope.filtered:
        return _whole_command_counts(scope)
    command, groups = scope.dimension("command")

    def statement(lo: int, hi: int) -> str:
        return (
            f"WITH g AS MATERIALIZED (SELECT {command} AS command, sum(events) AS ev, "
            f"{bitmap(lo, hi)} AS b FROM {USAGE} WHERE {scope.where(lo, hi)} GROUP BY 1) "
            f"SELECT 0, command, ev, {count('b')} FROM g UNION ALL "
            f"SELECT 1, NULL, coalesce(sum(ev), 0), {count('bit_or(b)')} FROM g"
        )

    rows = scope.in_passes(groups + 1, statement, 2)
    tallies = [Tally(name, int(ev), int(n)) for total, name, ev, n in rows if not total]
    total = next(Tally(None, int(ev), int(n)) for is_total, _, ev, n in rows if is_total)
    return Breakdown(tallies, total)


def _whole_command_counts(scope: Scope) -> Breakdown:
    """Unfiltered: events from the daily counts, installations from the per-day bitmaps."""
    command = scope.dimension("command")[0]
    value = scope.dimension("command", "value")[0]
    rows = scope.read(
        f"WITH s AS MATERIALIZED (SELECT {command} AS grp, sum(events) AS ev FROM {COUNTS} "
        f"WHERE {scope.rows()} GROUP BY 1), "
        f"n AS (SELECT grp, sum(bit_count(b)) AS n FROM {scope.reach('command', value)} "
        "GROUP BY grp) "
        "SELECT 0, grp, ev, n FROM s JOIN n USING (grp) UNION ALL "
        f"SELECT 1, NULL, (SELECT coalesce(sum(ev), 0) FROM s), {scope.all_installations()}",
        (),
    )
    tallies = [Tally(name, int(ev), int(n)) for total, name, ev, n in rows if not total]
    total = next(Tally(None, int(ev), int(n)) for is_total, _, ev, n in rows if is_total)
    return Breakdown(tallies, total)


def duration_percentiles(scope: Scope, *, by_version: bool) -> list[Percentiles]:
    command, _ = scope.dimension("command")
    # '' rather than NULL when not per version: the statement joins on it
    version = scope.dimension("cli_version")[0] if by_version else "''"
    groups = f"{command} AS command, {version} AS cli_version"
    keys = "command, cli_version"
    percents = ", ".join(f"({percent})" for percent in PERCENTS)
    rows = scope.read(
        # Runs and the slowest per group and bucket; cumulated, they tell which bucket holds
        # each percentile's rank ceil(N % of the runs) and its rank k within the bucket.
        f"WITH buckets AS (SELECT {groups}, bucket, sum(runs)::BIGINT AS runs, "
        f"max(slowest) AS slowest FROM {DURATIONS} WHERE {scope.rows()} GROUP BY ALL), "
        f"cumulated AS (SELECT *, sum(runs) OVER (PARTITION BY {keys} ORDER BY bucket) AS upto, "
        f"sum(runs) OVER (PARTITION BY {keys}) AS total FROM buckets), "
        "wanted AS (SELECT * FROM (SELECT command, cli_version, bucket, percent, "
        "(percent * total + 99) // 100 - (upto - runs) AS k, runs "
        f"FROM cumulated, (VALUES {percents}) AS p(percent)) WHERE k BETWEEN 1 AND runs), "
        # Only those buckets' durations, sorted: the k-th is the percentile.
        f"chosen AS (SELECT {groups}, bucket, list_sort(flatten(list(durations))) AS sorted "
        f"FROM {DURATIONS} WHERE {scope.rows()} "
        f"AND ({command}, {version}, bucket) IN (SELECT ({keys}, bucket) FROM wanted) "
        "GROUP BY ALL), "
        "picked AS (SELECT command, cli_version, list(sorted[k::BIGINT] ORDER BY percent) AS p "
        "FROM wanted JOIN chosen USING (command, cli_version, bucket) GROUP BY ALL) "
        "SELECT command, cli_version, sum(runs), max(slowest), any_value(p) "
        "FROM buckets JOIN picked USING (command, cli_version) GROUP BY ALL",
        (),
    )
    return [
        Percentiles(
            cmd, ver if by_version else None, int(n), int(p50), int(p90), int(p99), int(top)
        )
        for cmd, ver, n, top, (p50, p90, p99) in rows
    ]


def error_counts(scope: Scope) -> ErrorCounts:
    command, commands = scope.dimension("command")
    code, codes = scope.dimension("error_code")
    version, versions = scope.dimension("cli_version")

    def by_code(lo: int, hi: int) -> str:
        return (
            f"WITH g AS MATERIALIZED (SELECT {command} AS command, {code} AS error_code, "
            f"sum(events) AS ev, {bitmap(lo, hi)} AS b FROM {ERRORS} "
            f"WHERE {scope.where(lo, hi)} GROUP BY 1, 2) "
            f"SELECT command, error_code, ev, {count('b')} FROM g UNION ALL "
            f"SELECT NULL, error_code, sum(ev), {count('bit_or(b)')} FROM g GROUP BY error_code"
        )

    error_rows = scope.in_passes(commands * codes + codes, by_code, 2)
    # Failure rates: sums over the daily counts; installations hit: bitmaps over the (ten times
    # smaller than the usage) errors rollup, since an installation with a failure has a row there.
    sums = scope.read(
        f"WITH g AS MATERIALIZED (SELECT {command} AS command, {version} AS cli_version, "
        f"sum(events) AS ev, sum(failures) AS fail FROM {COUNTS} WHERE {scope.rows()} "
        "GROUP BY 1, 2) "
        "SELECT 0, command, sum(ev), sum(fail) FROM g GROUP BY command UNION ALL "
        "SELECT 1, cli_version, sum(ev), sum(fail) FROM g GROUP BY cli_version",
        (),
    )

    def failing(lo: int, hi: int) -> str:
        return (
            f"WITH g AS MATERIALIZED (SELECT {command} AS command, {version} AS cli_version, "
            f"{bitmap(lo, hi)} AS b FROM {ERRORS} WHERE {scope.where(lo, hi)} GROUP BY 1, 2) "
            f"SELECT 0, command, {count('bit_or(b)')} FROM g GROUP BY command UNION ALL "
            f"SELECT 1, cli_version, {count('bit_or(b)')} FROM g GROUP BY cli_version"
        )

    hit_rows = scope.in_passes(commands * versions + commands + versions, failing, 2)
    hit = {(int(by), name): int(installs) for by, name, installs in hit_rows}
    tallies: tuple[list[FailureTally], list[FailureTally]] = ([], [])
    for by, name, events, failures in sums:
        tallies[by].append(
            FailureTally(name, int(events), int(failures), hit.get((int(by), name), 0))
        )
    codes_found = [ErrorTally(cmd, c, int(ev), int(ins)) for cmd, c, ev, ins in error_rows]
    return ErrorCounts(
        by_code=[e for e in codes_found if e.command is None],
        by_command_and_code=[e for e in codes_found if e.command is not None],
        by_command=tallies[0],
        by_version=tallies[1],
    )


def installation_counts(scope: Scope) -> InstallationCounts:
    if scope.filtered:

        def statement(lo: int, hi: int) -> str:
            return (
                f"WITH g AS MATERIALIZED (SELECT day, {bitmap(lo, hi)} AS b, "
                f"{bitmap(lo, hi, 'is_new')} AS n FROM {USAGE} "
                f"WHERE {scope.where(lo, hi)} GROUP BY day) "
                f"SELECT 0, day, {count('b')}, {count('n')} FROM g UNION ALL "
                f"SELECT 1, date_trunc('week', day)::DATE, {count('bit_or(b)')}, 0 FROM g "
                "GROUP BY 2"
            )

        days = scope.time_range.days
        rows = scope.in_passes(2 * days + days // 7 + 2, statement, 2)
    else:
        rows = scope.read(
            f"WITH g AS MATERIALIZED (SELECT day, block, bit_or(active) AS b, bit_or(new) AS n "
            f"FROM {ACTIVE} WHERE {scope.days()} GROUP BY ALL) "
            "SELECT 0, day, sum(bit_count(b)), coalesce(sum(bit_count(n)), 0) FROM g "
            "GROUP BY day UNION ALL "
            "SELECT 1, week, sum(bit_count(b)), 0 FROM (SELECT date_trunc('week', day)::DATE "
            "AS week, bit_or(b) AS b FROM g GROUP BY week, block) GROUP BY week",
            (),
        )
    return InstallationCounts(
        daily=[DayCount(day, int(a), int(n)) for weekly, day, a, n in rows if not weekly],
        weekly=[WeekCount(week, int(a)) for weekly, week, a, _ in rows if weekly],
    )


def version_counts(scope: Scope) -> VersionCounts:
    if not scope.filtered:
        return _whole_version_counts(scope)
    version, versions = scope.dimension("cli_version")

    def statement(lo: int, hi: int) -> str:
        return (
            f"WITH g AS MATERIALIZED (SELECT day, {version} AS cli_version, "
            f"{bitmap(lo, hi)} AS b FROM {USAGE} WHERE {scope.where(lo, hi)} "
            "GROUP BY 1, 2) "
            f"SELECT 0, day, cli_version, {count('b')}, day FROM g UNION ALL "
            f"SELECT 1, NULL, cli_version, {count('bit_or(b)')}, min(day) FROM g "
            "GROUP BY cli_version UNION ALL "
            f"SELECT 0, day, NULL, {count('bit_or(b)')}, day FROM g GROUP BY day UNION ALL "
            f"SELECT 2, NULL, NULL, {count('bit_or(b)')}, NULL FROM g"
        )

    days = min(scope.time_range.days, scope.distinct("day"))
    # (day, version) groups: at most the pairs seen, and at most days × top versions
    version_days = min(scope.distinct("day, cli_version"), days * versions)
    rows = scope.in_passes(version_days + versions + days + 1, statement, 3)
    return VersionCounts(
        daily=[VersionDay(day, ver, int(n)) for kind, day, ver, n, _ in rows if kind == 0],
        versions=[VersionTotal(ver, int(n), first) for kind, _, ver, n, first in rows if kind == 1],
        installations=next((int(n) for kind, _, _, n, _ in rows if kind == 2), 0),
    )


def _whole_version_counts(scope: Scope) -> VersionCounts:
    """Unfiltered: every count from per-day bitmaps (per version, and of all installations)."""
    value = scope.dimension("cli_version", "value")[0]
    rows = scope.read(
        f"WITH r AS MATERIALIZED {scope.reach('cli_version', value, per_day=True)}, "
        f"d AS MATERIALIZED (SELECT day, block, bit_or(active) AS b FROM {ACTIVE} "
        f"WHERE {scope.days()} GROUP BY ALL) "
        "SELECT 0, day, grp, sum(bit_count(b)), day FROM r GROUP BY day, grp UNION ALL "
        "SELECT 1, NULL, grp, sum(bit_count(b)), min(first) FROM "
        "(SELECT grp, bit_or(b) AS b, min(day) AS first FROM r GROUP BY grp, block) "
        "GROUP BY grp UNION ALL "
        "SELECT 0, day, NULL, sum(bit_count(b)), day FROM d GROUP BY day UNION ALL "
        "SELECT 2, NULL, NULL, coalesce(sum(bit_count(b)), 0), NULL FROM "
        "(SELECT bit_or(b) AS b FROM d GROUP BY block)",
        (),
    )
    return VersionCounts(
        daily=[VersionDay(day, ver, int(n)) for kind, day, ver, n, _ in rows if kind == 0],
        versions=[VersionTotal(ver, int(n), first) for kind, _, ver, n, first in rows if kind == 1],
        installations=next((int(n) for kind, _, _, n, _ in rows if kind == 2), 0),
    )


def _whole_platform_counts(scope: Scope) -> PlatformCounts:
    """Unfiltered: events from the daily counts, installations from the per-day bitmaps."""
    rows = scope.read(
        f"WITH s AS MATERIALIZED (SELECT os_arch, is_interactive, sum(events) AS ev "
        f"FROM {COUNTS} WHERE {scope.rows()} GROUP BY ALL), "
        f"os AS (SELECT grp, sum(bit_count(b)) AS n FROM {scope.reach('os_arch', 'value')} "
        "GROUP BY grp), "
        "flag AS (SELECT grp, sum(bit_count(b)) AS n FROM "
        f"{scope.reach('is_interactive', 'value')} GROUP BY grp) "
        "SELECT 0, os_arch, NULL, sum(ev), any_value(n) FROM s JOIN os ON grp = os_arch "
        "GROUP BY os_arch UNION ALL "
        "SELECT 1, NULL, is_interactive, sum(ev), any_value(n) FROM s "
        "JOIN flag ON grp = is_interactive::VARCHAR GROUP BY is_interactive UNION ALL "
        f"SELECT 2, NULL, NULL, (SELECT coalesce(sum(ev), 0) FROM s), "
        f"{scope.all_installations()}",
        (),
    )
    return _platforms(rows)


def _platforms(rows: Rows) -> PlatformCounts:
    return PlatformCounts(
        os_arch=[Tally(os, int(ev), int(n)) for kind, os, _, ev, n in rows if kind == 0],
        interactive=[
            InteractiveTally(bool(flag), int(ev), int(n))
            for kind, _, flag, ev, n in rows
            if kind == 1
        ],
        total=next(Tally(None, int(ev), int(n)) for kind, _, _, ev, n in rows if kind == 2),
    )


def platform_counts(scope: Scope) -> PlatformCounts:
    if not scope.filtered:
        return _whole_platform_counts(scope)

    def statement(lo: int, hi: int) -> str:
        rest = f"coalesce(sum(ev), 0), {count('bit_or(b)')} FROM g"
        return (
            f"WITH g AS MATERIALIZED (SELECT os_arch, is_interactive, sum(events) AS ev, "
            f"{bitmap(lo, hi)} AS b FROM {USAGE} WHERE {scope.where(lo, hi)} "
            "GROUP BY 1, 2) "
            f"SELECT 0, os_arch, NULL, {rest} GROUP BY os_arch UNION ALL "
            f"SELECT 1, NULL, is_interactive, {rest} GROUP BY is_interactive UNION ALL "
            f"SELECT 2, NULL, NULL, {rest}"
        )

    os_archs = scope.distinct("os_arch")  # at most OS_ARCHS (the schema's), mostly a few
    rows = scope.in_passes(3 * os_archs + 3, statement, 3)
    return _platforms(rows)


def dimension_values(scope: Scope) -> DimensionValues:
    rows = scope.read(
        f"WITH g AS MATERIALIZED (SELECT command, cli_version, os_arch, sum(events) AS ev "
        f"FROM {COUNTS} WHERE {scope.rows()} GROUP BY ALL) "
        "SELECT 0, command, sum(ev) FROM g GROUP BY 2 UNION ALL "
        "SELECT 1, cli_version, sum(ev) FROM g GROUP BY 2 UNION ALL "
        "SELECT 2, os_arch, sum(ev) FROM g GROUP BY 2 ORDER BY 3 DESC, 2",
        (),
    )
    return DimensionValues(
        commands=[name for kind, name, _ in rows if kind == 0],
        cli_versions=[name for kind, name, _ in rows if kind == 1],
        os_archs=[name for kind, name, _ in rows if kind == 2],
    )


def top_values(read: Read, time_range: TimeRange, filters: Filters, column: str) -> Rows:
    """The TOP_VALUES[column] + 1 values of `column` with the most events in the scope."""
    table = ERRORS if column == "error_code" else COUNTS
    scope = Scope(read, time_range, filters, 0, lambda _: ([], False))
    return read(
        f"SELECT {column}, sum(events) AS ev FROM {table} WHERE {scope.rows()} "
        f"GROUP BY 1 ORDER BY ev DESC, 1 LIMIT {TOP_VALUES[column] + 1}",
        (),
    )
