"""The analytics questions in ClickHouse SQL: every count, distinct count and percentile is
computed by the server, and only the answer's rows come back (dozens, never raw events).

The definitions are DuckDB's (candor.storage.duckdb) exactly:
- distinct installations are exact: `uniqExact`. Coarser groups (a total, a week) merge the
  finer groups' `uniqExactState`s, so one scan answers several groupings: the inner query
  aggregates at the finest grain, `ARRAY JOIN [0, 1, …] AS g` repeats each of its rows once per
  grouping set, and the outer query groups by `g` and the keys that set keeps (GROUPING SETS,
  written so that 18.16 runs it too).
- percentiles are nearest-rank: pN is the smallest duration with at least N % of the runs at or
  below it, i.e. the ⌈N·n/100⌉-th smallest: `quantilesExact` at levels just below N/100
  (NEAREST_RANK says why that is exact; at N/100 itself it picks the next rank when N·n/100 is
  whole, and `quantileExactHigh` is missing before 20.x).
- an installation is new on the day of its first event ever stored (`installations`); it
  counts as new in a scope when its first day in the scope is that day.
- sender-chosen dimensions are grouped as they are; only when a range holds more than their
  TOP_VALUES values does a question run again with the top ones plus OTHER (`_folded`).
- rows are selected by their stored `day`; the primary key and partitions by received_at,
  through `indexHint` where the server has it (Layout.days).

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
    from collections.abc import Callable, Mapping, Sequence

    from candor.storage.clickhouse.connection import Connection
    from candor.storage.clickhouse.schema import Layout
    from candor.storage.questions import Filters, TimeRange

Rows = list[tuple[Any, ...]]
Counts = dict[str, dict[Any, int]]  # per column, the events of each of its values
PERCENTILES = (50, 90, 99)
# quantileExact(level) picks the element at 0-based index ⌊level·n⌋ (nth_element), and the
# nearest rank is the ⌈N·n/100⌉-th smallest, index ⌈N·n/100⌉ - 1. With level = N/100 - 1e-12
# the two agree for every group of up to 10^10 events: when N·n/100 is whole, subtracting
# 1e-12·n (≤ 0.01, far above the product's rounding error) moves ⌊⌋ one down; when it is not,
# its fraction is at least 0.01 and ⌊⌋ stays put. Measured against sorting each group's
# durations and picking the ranks: 0.87 -> 0.23 s on the 18.16 server, 235 -> 185 ms on chDB
# (per command and version, 4.7 M events).
NEAREST_RANK = ", ".join(repr(n / 100 - 1e-12) for n in PERCENTILES)
INSTALLS = ("uniqExactState(installation_id)", "uniqExactMerge")
EVENTS = ("count()", "sum")


class Scope:
    """A question's range (whole UTC days of received_at: the events' `day`) and its equality
    filters."""

    def __init__(self, layout: Layout, time_range: TimeRange, filters: Filters) -> None:
        self.layout = layout
        self.time_range = time_range
        self.filters = filters

    def where(self, extra: str = "") -> str:
        conditions = [
            self.layout.days(self.time_range.start, self.time_range.end),
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
        self._day = layout.day

    # ------------------------------------------------------------------ building blocks

    def _per_installation(self, scope: Scope, measures: str = "") -> str:
        """SQL: one row per installation in the scope with its first day there (`first`) and
        whether that is its first day ever (`new`), plus `measures` (", count() AS ev")."""
        first_days = self._first_days(scope)
        # An installation is new in the scope when its first day in it is its first ever
        # (every event is on or after that day). Checked once per installation, not per event:
        # the tuple IN per event was most of the overview's and installations' time.
        return (
            f"SELECT *, (installation_id, first) {self._layout.global_in} "
            f"({first_days}) AS new FROM (SELECT installation_id, "
            f"min({self._day}) AS first{measures} FROM {self._events} "
            f"WHERE {scope.where()} GROUP BY installation_id)"
        )

    def _new_from_first_days(self, scope: Scope) -> dict[Any, int] | None:
        """New installations per day, read from the installations table alone, when that is
        exact: with no filters, and when the range starts after the earliest day still stored.
        Prunes remove every event before a moment, so an installation whose first day is after
        the earliest stored day still has its first event, in the range: it is new that day.
        Otherwise None (the caller groups the range's events per installation)."""
        if scope.filters.columns():
            return None
        ((earliest,),) = self._con.rows(f"SELECT min({self._day}) FROM {self._events}")
        if earliest >= scope.time_range.start:  # an empty store answers 1970-01-01
            return None
        return dict(
            self._con.rows(
                f"SELECT first_day, count() FROM ({self._first_days(scope)}) GROUP BY first_day"
            )
        )

    def _first_days(self, scope: Scope) -> str:
        """SQL: the installations whose first event ever is in the scope's range, with its
        day (`first_day`)."""
        return (
            f"SELECT installation_id, toDate(minMerge(first_seen)) AS first_day "
            f"FROM {self._layout.table('installations')} GROUP BY installation_id "
            f"HAVING first_day >= {literal(scope.time_range.start)} "
            f"AND first_day <= {literal(scope.time_range.end)}"
        )

    def _folded(
        self, columns: Sequence[str], ask: Callable[[Mapping[str, str]], tuple[Rows, Counts]]
    ) -> Rows:
        """The rows of `ask`, grouped by the sender-chosen `columns` as TOP_VALUES says.

        `ask(expressions)` runs a question with each column's SQL and returns its rows and,
        per column, the events of each value (the counts that rank the top values: every
        event in the scope, failures only for error_code). It runs first with the plain
        columns; only if one of them shows more than its TOP_VALUES values does it run again
        with that column as its top values plus OTHER. Most ranges hold fewer values than
        that, so the question needs no separate look-up of its top values.
        """
        plain = {column: column for column in columns}
        rows, counts = ask(plain)
        folded = {
            column: _top_values(column, counts[column])
            for column in columns
            if len(counts[column]) > TOP_VALUES[column]
        }
        return ask({**plain, **folded})[0] if folded else rows

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
        first_days = self._new_from_first_days(scope)
        if first_days is None:
            ((events, failures, active, new, interactive, used),) = self._con.rows(
                f"SELECT sum(ev), sum(f), count(), countIf(new), sum(i), (SELECT "
                f"uniqExact(command) FROM {self._events} WHERE {scope.where()}) "
                f"FROM ({self._per_installation(scope, measures)})"
            )
        else:  # one flat pass: no installation's first day to find in the range
            ((events, failures, active, interactive, used),) = self._con.rows(
                f"SELECT count(), countIf(status = 'failure'), uniqExact(installation_id), "
                f"countIf(is_interactive = 1), uniqExact(command) "
                f"FROM {self._events} WHERE {scope.where()}"
            )
            new = sum(first_days.values())
        return Totals(
            int(events), int(failures), int(active), int(new), int(interactive), int(used)
        )

    def command_counts(self, scope: Scope) -> Breakdown:
        def ask(dims: Mapping[str, str]) -> tuple[Rows, Counts]:
            rows = self._grouping_sets(
                scope, ["command"], [["command"], []], {"ev": EVENTS, "u": INSTALLS}, derived=dims
            )
            return rows, {"command": {c: ev for g, c, ev, _ in rows if g == 0}}

        rows = self._folded(["command"], ask)
        total = next((Tally(None, int(ev), int(u)) for g, _, ev, u in rows if g == 1), None)
        tallies = [Tally(command, int(ev), int(u)) for g, command, ev, u in rows if g == 0]
        return Breakdown(tallies, total or Tally(None, 0, 0))

    def duration_percentiles(self, scope: Scope, *, by_version: bool) -> list[Percentiles]:
        columns = ["command", "cli_version"] if by_version else ["command"]
        group = ", ".join(f"k_{column}" for column in columns)

        def ask(dims: Mapping[str, str]) -> tuple[Rows, Counts]:
            keys = ", ".join(f"{dims[column]} AS k_{column}" for column in columns)
            rows = self._con.rows(
                f"SELECT {keys}, count() AS n, quantilesExact({NEAREST_RANK})(duration_ms), "
                f"max(duration_ms) FROM {self._events} WHERE {scope.where()} GROUP BY {group}"
            )
            counts: Counts = {column: {} for column in columns}
            for row in rows:
                for index, column in enumerate(columns):
                    values = counts[column]
                    values[row[index]] = values.get(row[index], 0) + int(row[len(columns)])
            return rows, counts

        rows = self._folded(columns, ask)
        answer = []
        for row in rows:
            name, version = row[0], row[1] if by_version else None
            n, (p50, p90, p99), top = row[-3:]
            answer.append(
                Percentiles(name, version, int(n), int(p50), int(p90), int(p99), int(top))
            )
        return answer

    def error_counts(self, scope: Scope) -> ErrorCounts:
        failed = "error_code IS NOT NULL"
        dims: Mapping[str, str] = {}

        def ask_sums(chosen: Mapping[str, str]) -> tuple[Rows, Counts]:
            nonlocal dims
            dims = chosen
            rows = self._grouping_sets(
                scope,
                ["command", "cli_version"],
                [["command"], ["cli_version"]],
                {
                    "ev": EVENTS,
                    "f": ("countIf(status = 'failure')", "sum"),
                    # The installations with a failure, in the same pass (-If): a statement of
                    # its own read and filtered every event again.
                    "u": (f"uniqExactStateIf(installation_id, {failed})", "uniqExactMerge"),
                },
                derived=dims,
            )
            by: tuple[dict[Any, int], dict[Any, int]] = ({}, {})
            for g, command, version, events, _, _ in rows:
                by[g][command if g == 0 else version] = int(events)
            return rows, {"command": by[0], "cli_version": by[1]}

        def ask_codes(chosen: Mapping[str, str]) -> tuple[Rows, Counts]:
            rows = self._grouping_sets(
                scope,
                ["command", "error_code"],
                [["command", "error_code"], ["error_code"]],
                {"ev": EVENTS, "u": INSTALLS},
                where=failed,
                derived={"command": dims["command"], "error_code": chosen["error_code"]},
            )
            return rows, {"error_code": {code: int(ev) for g, _, code, ev, _ in rows if g}}

        sums = self._folded(["command", "cli_version"], ask_sums)
        codes = self._folded(["error_code"], ask_codes)
        tallies: tuple[list[FailureTally], list[FailureTally]] = ([], [])
        for g, command, version, events, failures, hit in sums:
            name = command if g == 0 else version
            tallies[g].append(FailureTally(name, int(events), int(failures), int(hit)))
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
            f"(SELECT {self._day} AS day, uniqExactState(installation_id) AS u "
            f"FROM {self._events} WHERE {scope.where()} GROUP BY day) "
            f"ARRAY JOIN [0, 1] AS g GROUP BY g, k"
        )
        new = self._new_from_first_days(scope)
        if new is None:
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
        def ask(dims: Mapping[str, str]) -> tuple[Rows, Counts]:
            rows = self._grouping_sets(
                scope,
                ["day", "cli_version"],
                [["day", "cli_version"], ["day"], ["cli_version"], []],
                {"u": INSTALLS, "first": (f"min({self._day})", "min"), "ev": EVENTS},
                derived={"day": self._day, "cli_version": dims["cli_version"]},
            )
            return rows, {"cli_version": {v: int(ev) for g, _, v, _, _, ev in rows if g == 2}}

        rows = self._folded(["cli_version"], ask)
        return VersionCounts(
            daily=[VersionDay(day, ver, int(u)) for g, day, ver, u, _, _ in rows if g in (0, 1)],
            versions=[
                VersionTotal(ver, int(u), first) for g, _, ver, u, first, _ in rows if g == 2
            ],
            installations=next((int(u) for g, _, _, u, _, _ in rows if g == 3), 0),
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


def _top_values(column: str, counts: Mapping[Any, int]) -> str:
    """SQL for `column` as its TOP_VALUES values with the most events (ties: the smaller value
    first), every other value as OTHER."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(literal(str(value)) for value, _ in ranked[: TOP_VALUES[column]])
    return f"if({column} IN ({listed}), {column}, {literal(OTHER)})"
