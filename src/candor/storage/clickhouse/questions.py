"""The analytics questions in ClickHouse SQL: every count, distinct count and percentile is
computed by the server, and only the answer's rows come back (dozens, never raw events).

The definitions are DuckDB's (candor.storage.duckdb) exactly:
- distinct installations are exact: `uniqExact`. Coarser groups (a total, a week) merge the
  finer groups' `uniqExactState`s, so one scan answers several groupings: the inner query
  aggregates at the finest grain, `ARRAY JOIN [0, 1, …] AS g` repeats each of its rows once per
  grouping set, and the outer query groups by `g` and the keys that set keeps (GROUPING SETS,
  written so that 18.16 runs it too).
- percentiles are nearest-rank: pN is the smallest duration with at least N % of the runs at or
  below it, i.e. the ⌈N·n/100⌉-th smallest (integer arithmetic, no float rounding), picked from
  the group's sorted durations (`quantileExact` picks another rank when N·n/100 is whole, and
  `quantileExactHigh` is missing before 20.x).
- an installation is new on the day of its first event ever stored (`installations`); it
  counts as new in a scope when its first day in the scope is that day.

Each method answers one question of `candor.storage.questions` with its typed rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.storage.clickhouse.connection import literal
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
    from collections.abc import Mapping, Sequence

    from candor.storage.clickhouse.connection import Connection
    from candor.storage.clickhouse.schema import Layout
    from candor.storage.questions import Filters, TimeRange

Rows = list[tuple[Any, ...]]
PERCENTILES = (50, 90, 99)
INSTALLS = ("uniqExactState(installation_id)", "uniqExactMerge")
EVENTS = ("count()", "sum")


class Scope:
    """A question's range (whole UTC days, by received_at) and its equality filters."""

    def __init__(self, layout: Layout, time_range: TimeRange, filters: Filters) -> None:
        self.layout = layout
        self.time_range = time_range
        self.filters = filters

    def where(self, extra: str = "") -> str:
        conditions = [
            f"received_at >= {self.layout.moment(self.time_range.start_time)}",
            f"received_at < {self.layout.moment(self.time_range.end_time)}",
            *(f"{column} = {literal(value)}" for column, value in self.filters.columns()),
        ]
        if extra:
            conditions.append(extra)
        return " AND ".join(conditions)


class Questions:
    """The analytics questions over one store's tables."""

    def __init__(self, connection: Connection, layout: Layout) -> None:
        self._con = connection
        self._layout = layout
        self._events = layout.table("events")

    # ------------------------------------------------------------------ building blocks

    def _per_installation(self, scope: Scope, measures: str = "") -> str:
        """SQL: one row per installation in the scope with its first day there (`first`) and
        whether that is its first day ever (`new`), plus `measures` (", count() AS ev")."""
        first_days = (
            f"SELECT installation_id, toDate(minMerge(first_seen)) AS first_day "
            f"FROM {self._layout.table('installations')} GROUP BY installation_id "
            f"HAVING first_day >= {literal(scope.time_range.start)} "
            f"AND first_day <= {literal(scope.time_range.end)}"
        )
        # An installation is new in the scope when its first day in it is its first ever
        # (every event is on or after that day). Checked once per installation, not per event:
        # the tuple IN per event was most of the overview's and installations' time.
        return (
            f"SELECT *, (installation_id, first) {self._layout.global_in} "
            f"({first_days}) AS new FROM (SELECT installation_id, "
            f"min(toDate(received_at)) AS first{measures} FROM {self._events} "
            f"WHERE {scope.where()} GROUP BY installation_id)"
        )

    def _dimension(self, scope: Scope, column: str) -> str:
        """SQL for a sender-chosen `column` grouped as its TOP_VALUES most used values in the
        scope (ties: the smaller value first) plus one OTHER value for all the rest."""
        failed = " AND error_code IS NOT NULL" if column == "error_code" else ""
        rows = self._con.rows(
            f"SELECT {column} AS value, count() AS ev FROM {self._events} "
            f"WHERE {scope.where()}{failed} GROUP BY value ORDER BY ev DESC, value "
            f"LIMIT {TOP_VALUES[column] + 1}"
        )
        if len(rows) <= TOP_VALUES[column]:
            return column
        listed = ", ".join(literal(str(value)) for value, _ in rows[: TOP_VALUES[column]])
        return f"if({column} IN ({listed}), {column}, {literal(OTHER)})"

    def _grouping_sets(
        self,
        scope: Scope,
        keys: Sequence[str],
        sets: Sequence[Sequence[str]],
        measures: Mapping[str, tuple[str, str]],
        *,
        where: str = "",
        derived: Mapping[str, str] | None = None,
    ) -> Rows:
        """One scan, several groupings: (set index, *keys (NULL outside the set), *measures).

        `keys` are grouped at the finest grain (a `derived` expression or a column);
        `measures` map a name to (inner aggregate, outer merge), e.g. ("count()", "sum").
        """
        derived = derived or {}
        # A derived key gets its own alias: `expr(command) AS command` is a cyclic alias.
        names = {k: f"d_{k}" if k in derived else k for k in keys}
        inner_keys = [f"{derived[k]} AS d_{k}" if k in derived else k for k in keys]
        inner = ", ".join([*inner_keys, *(f"{agg} AS m_{n}" for n, (agg, _) in measures.items())])
        outer_keys, group = [], ["g"]
        for key in keys:
            holders = [str(index) for index, kept in enumerate(sets) if key in kept]
            if len(holders) == len(sets):
                outer_keys.append(names[key])
                group.append(names[key])
            else:
                kept = f"if(g IN ({', '.join(holders)}), {names[key]}, NULL)" if holders else "NULL"
                outer_keys.append(f"{kept} AS k_{key}")
                group.append(f"k_{key}")
        outer = ", ".join(
            ["g", *outer_keys, *(f"{merge}(m_{n})" for n, (_, merge) in measures.items())]
        )
        return self._con.rows(
            f"SELECT {outer} FROM (SELECT {inner} FROM {self._events} "
            f"WHERE {scope.where(where)} GROUP BY {', '.join(names[k] for k in keys)}) "
            f"ARRAY JOIN {literal(list(range(len(sets))))} AS g GROUP BY {', '.join(group)}"
        )

    # ------------------------------------------------------------------ the questions

    def usage_totals(self, scope: Scope) -> Totals:
        measures = (
            ", count() AS ev, countIf(status = 'failure') AS f, countIf(is_interactive = 1) AS i"
        )
        ((events, failures, active, new, interactive, used),) = self._con.rows(
            f"SELECT sum(ev), sum(f), count(), countIf(new), sum(i), (SELECT uniqExact(command) "
            f"FROM {self._events} WHERE {scope.where()}) "
            f"FROM ({self._per_installation(scope, measures)})"
        )
        return Totals(
            int(events), int(failures), int(active), int(new), int(interactive), int(used)
        )

    def command_counts(self, scope: Scope) -> Breakdown:
        rows = self._grouping_sets(
            scope,
            ["command"],
            [["command"], []],
            {"ev": EVENTS, "u": INSTALLS},
            derived={"command": self._dimension(scope, "command")},
        )
        total = next((Tally(None, int(ev), int(u)) for g, _, ev, u in rows if g == 1), None)
        tallies = [Tally(command, int(ev), int(u)) for g, command, ev, u in rows if g == 0]
        return Breakdown(tallies, total or Tally(None, 0, 0))

    def duration_percentiles(self, scope: Scope, *, by_version: bool) -> list[Percentiles]:
        command = self._dimension(scope, "command")
        keys = f"{command} AS d_command"
        group = "d_command"
        if by_version:
            keys += f", {self._dimension(scope, 'cli_version')} AS d_version"
            group += ", d_version"
        # The ⌈N·n/100⌉-th of the sorted durations (arrays are 1-based), picked in an outer
        # query: the sorted arrays stay in the server (returned, they were 98 % of the time).
        # Measured on 2 M events: as fast as quantilesExact, twice as fast as counting per
        # (group, duration).
        picks = ", ".join(f"s[intDiv({n} * n + 99, 100)]" for n in PERCENTILES)
        rows = self._con.rows(
            f"SELECT {group}, n, {picks}, top FROM (SELECT {keys}, count() AS n, "
            f"arraySort(groupArray(duration_ms)) AS s, max(duration_ms) AS top "
            f"FROM {self._events} WHERE {scope.where()} GROUP BY {group})"
        )
        answer = []
        for row in rows:
            name, version = row[0], row[1] if by_version else None
            n, p50, p90, p99, top = row[2:] if by_version else row[1:]
            answer.append(
                Percentiles(name, version, int(n), int(p50), int(p90), int(p99), int(top))
            )
        return answer

    def error_counts(self, scope: Scope) -> ErrorCounts:
        failed = "error_code IS NOT NULL"
        command = self._dimension(scope, "command")
        dims = {"command": command, "cli_version": self._dimension(scope, "cli_version")}
        codes = self._grouping_sets(
            scope,
            ["command", "error_code"],
            [["command", "error_code"], ["error_code"]],
            {"ev": EVENTS, "u": INSTALLS},
            where=failed,
            derived={"command": command, "error_code": self._dimension(scope, "error_code")},
        )
        sums = self._grouping_sets(
            scope,
            ["command", "cli_version"],
            [["command"], ["cli_version"]],
            {"ev": EVENTS, "f": ("countIf(status = 'failure')", "sum")},
            derived=dims,
        )
        failing = self._grouping_sets(
            scope, ["command", "cli_version"], [["command"], ["cli_version"]], {"u": INSTALLS},
            where=failed, derived=dims,
        )  # fmt: skip
        hit = {(g, c if g == 0 else v): int(u) for g, c, v, u in failing}
        tallies: tuple[list[FailureTally], list[FailureTally]] = ([], [])
        for g, command, version, events, failures in sums:
            name = command if g == 0 else version
            tallies[g].append(FailureTally(name, int(events), int(failures), hit.get((g, name), 0)))
        return ErrorCounts(
            by_code=[ErrorTally(None, code, int(ev), int(u)) for g, _, code, ev, u in codes if g],
            by_command_and_code=[
                ErrorTally(cmd, code, int(ev), int(u)) for g, cmd, code, ev, u in codes if not g
            ],
            by_command=tallies[0],
            by_version=tallies[1],
        )

    def installation_counts(self, scope: Scope) -> InstallationCounts:
        rows = self._con.rows(
            f"SELECT g, if(g = 0, day, toMonday(day)) AS k, uniqExactMerge(u) FROM "
            f"(SELECT toDate(received_at) AS day, uniqExactState(installation_id) AS u "
            f"FROM {self._events} WHERE {scope.where()} GROUP BY day) "
            f"ARRAY JOIN [0, 1] AS g GROUP BY g, k"
        )
        new = dict(
            self._con.rows(
                f"SELECT first, count() FROM ({self._per_installation(scope)}) "
                f"WHERE new GROUP BY first"
            )
        )
        return InstallationCounts(
            daily=[DayCount(day, int(u), int(new.get(day, 0))) for g, day, u in rows if g == 0],
            weekly=[WeekCount(week, int(u)) for g, week, u in rows if g == 1],
        )

    def version_counts(self, scope: Scope) -> VersionCounts:
        rows = self._grouping_sets(
            scope,
            ["day", "cli_version"],
            [["day", "cli_version"], ["day"], ["cli_version"], []],
            {"u": INSTALLS, "first": ("min(toDate(received_at))", "min")},
            derived={
                "day": "toDate(received_at)",
                "cli_version": self._dimension(scope, "cli_version"),
            },
        )
        return VersionCounts(
            daily=[VersionDay(day, ver, int(u)) for g, day, ver, u, _ in rows if g in (0, 1)],
            versions=[VersionTotal(ver, int(u), first) for g, _, ver, u, first in rows if g == 2],
            installations=next((int(u) for g, _, _, u, _ in rows if g == 3), 0),
        )

    def platform_counts(self, scope: Scope) -> PlatformCounts:
        rows = self._grouping_sets(
            scope,
            ["os_arch", "is_interactive"],
            [["os_arch"], ["is_interactive"], []],
            {"ev": EVENTS, "u": INSTALLS},
        )
        total = next((Tally(None, int(ev), int(u)) for g, _, _, ev, u in rows if g == 2), None)
        return PlatformCounts(
            os_arch=[Tally(os, int(ev), int(u)) for g, os, _, ev, u in rows if g == 0],
            interactive=[
                InteractiveTally(bool(flag), int(ev), int(u))
                for g, _, flag, ev, u in rows
                if g == 1
            ],
            total=total or Tally(None, 0, 0),
        )

    def dimension_values(self, scope: Scope) -> DimensionValues:
        rows = self._grouping_sets(
            scope,
            ["command", "cli_version", "os_arch"],
            [["command"], ["cli_version"], ["os_arch"]],
            {"ev": EVENTS},
        )
        ranked = sorted(((g, [c, v, o][g], int(ev)) for g, c, v, o, ev in rows),
                        key=lambda r: (-r[2], r[1]))  # fmt: skip
        return DimensionValues(*([name for g, name, _ in ranked if g == k] for k in range(3)))
