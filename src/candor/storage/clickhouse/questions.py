"""The analytics questions in ClickHouse SQL: every count, distinct count and percentile is
computed by the server, and only the answer's rows come back (dozens, never raw events).

The definitions are DuckDB's (candor.storage.duckdb) exactly:
- distinct installations are exact: `uniqExact`. Coarser groups (a total, a week) merge the
  finer groups' `uniqExactState`s, so one scan answers several groupings: the inner query
  aggregates at the finest grain, `ARRAY JOIN [0, 1, …] AS g` repeats each of its rows once per
  grouping set, and the outer query groups by `g` and the keys that set keeps (GROUPING SETS,
  written so that 18.16 runs it too).
- percentiles are nearest-rank: pN is the smallest duration with at least N % of the runs at or
  below it, i.e. the ⌈N·n/100⌉-th smallest (integer arithmetic, no float rounding). The server
  counts runs per (group, duration), sorts those pairs, and picks the first whose cumulative
  count reaches that rank: exact, and far less to sort than every duration (`quantileExact`
  picks another rank, and `quantileExactHigh` is missing before 20.x).
- an installation is new on the day of its first event ever stored (`installations`).

Each method returns rows in the layout the shared shaping code expects (the SELECT lists of
candor.storage.duckdb's queries); the values are plain Python (dates, ints, strings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from candor.storage.clickhouse.connection import literal

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping, Sequence

    from candor.storage.clickhouse.connection import Connection
    from candor.storage.clickhouse.schema import Layout

Rows = list[tuple[Any, ...]]
PERCENTILES = (50, 90, 99)
FILTER_COLUMNS = ("cli_version", "os_arch", "command", "is_interactive")


class Scope:
    """A question's half-open time range [start, end) and its equality filters."""

    def __init__(
        self, start: dt.datetime, end: dt.datetime, filters: Mapping[str, object] | None = None
    ) -> None:
        self.start = start
        self.end = end
        self.filters = {k: v for k, v in (filters or {}).items() if v is not None}
        unknown = set(self.filters) - set(FILTER_COLUMNS)
        if unknown:
            raise ValueError(f"no filter on {sorted(unknown)[0]!r}")

    def where(self, extra: str = "") -> str:
        conditions = [
            f"received_at >= {literal(self.start)}",
            f"received_at < {literal(self.end)}",
            *(f"{column} = {literal(value)}" for column, value in self.filters.items()),
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

    def _is_new(self, scope: Scope) -> str:
        """SQL condition: this event falls on its installation's first day."""
        first_days = (
            f"SELECT installation_id, toDate(minMerge(first_seen)) AS first_day "
            f"FROM {self._layout.table('installations')} GROUP BY installation_id "
            f"HAVING first_day >= toDate({literal(scope.start)}) "
            f"AND first_day < toDate({literal(scope.end)})"
        )
        return f"(installation_id, toDate(received_at)) {self._layout.global_in} ({first_days})"

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
        """One scan, several groupings. Returns (set index, *keys (NULL when not in the set),
        *measures) per group.

        `keys` are expressions grouped at the finest grain (named by `derived` aliases or
        columns); `measures` map a name to (inner aggregate, outer merge) — e.g. ("count()",
        "sum"), ("uniqExactState(installation_id)", "uniqExactMerge").
        """
        derived = derived or {}
        inner_keys = [f"{derived[k]} AS {k}" if k in derived else k for k in keys]
        inner = ", ".join([*inner_keys, *(f"{agg} AS m_{n}" for n, (agg, _) in measures.items())])
        outer_keys = []
        for key in keys:
            holders = [index for index, kept in enumerate(sets) if key in kept]
            if len(holders) == len(sets):
                outer_keys.append(key)
            elif holders:
                outer_keys.append(f"if(g IN ({', '.join(map(str, holders))}), {key}, NULL) AS k_{key}")
            else:
                outer_keys.append(f"NULL AS k_{key}")
        group = ", ".join(["g", *(k.rsplit(" AS ", 1)[-1] for k in outer_keys)])
        outer = ", ".join(
            ["g", *outer_keys, *(f"{merge}(m_{n})" for n, (_, merge) in measures.items())]
        )
        sql = (
            f"SELECT {outer} FROM (SELECT {inner} FROM {self._events} "
            f"WHERE {scope.where(where)} GROUP BY {', '.join(keys)}) "
            f"ARRAY JOIN {literal(list(range(len(sets))))} AS g GROUP BY {group}"
        )
        return self._con.rows(sql)

    # ------------------------------------------------------------------ the questions

    def overview(self, scope: Scope) -> tuple[int, int, int, int, int, int]:
        """(events, failures, installations, new installations, interactive events, commands)."""
        ((events, failures, active, new, interactive, used),) = self._con.rows(
            f"SELECT count(), countIf(status = 'failure'), uniqExact(installation_id), "
            f"uniqExactIf(installation_id, {self._is_new(scope)}), countIf(is_interactive = 1), "
            f"uniqExact(command) FROM {self._events} WHERE {scope.where()}"
        )
        return int(events), int(failures), int(active), int(new), int(interactive), int(used)

    def commands(self, scope: Scope) -> Rows:
        """(command, events, installations, all events, all installations) per command."""
        rows = self._grouping_sets(
            scope,
            ["command"],
            [["command"], []],
            {"ev": ("count()", "sum"), "u": ("uniqExactState(installation_id)", "uniqExactMerge")},
        )
        total = next(((ev, u) for g, _, ev, u in rows if g == 1), (0, 0))
        return [(command, ev, u, *total) for g, command, ev, u in rows if g == 0]

    def percentiles(self, scope: Scope, keys: Sequence[str]) -> Rows:
        """(*keys, runs, [p50, p90, p99], max duration) per group (nearest-rank)."""
        key_list = ", ".join(keys)
        picks = ", ".join(
            f"tupleElement(h[arrayFirstIndex(x -> x >= intDiv({n} * n + 99, 100), cum)], 1)"
            for n in PERCENTILES
        )
        rows = self._con.rows(
            f"SELECT {key_list}, sum(c) AS n, arraySort(groupArray((d, c))) AS h, "
            f"arrayCumSum(arrayMap(x -> tupleElement(x, 2), h)) AS cum, [{picks}], max(d) "
            f"FROM (SELECT {key_list}, duration_ms AS d, count() AS c FROM {self._events} "
            f"WHERE {scope.where()} GROUP BY {key_list}, d) GROUP BY {key_list}"
        )
        width = len(keys)
        return [(*row[:width], row[width], list(row[width + 3]), row[width + 4]) for row in rows]

    def error_rows(self, scope: Scope) -> Rows:
        """(0, command, code, events, installations) per command × code; (1, NULL, code, …)."""
        return self._grouping_sets(
            scope,
            ["command", "error_code"],
            [["command", "error_code"], ["error_code"]],
            {"ev": ("count()", "sum"), "u": ("uniqExactState(installation_id)", "uniqExactMerge")},
            where="error_code IS NOT NULL",
        )

    def failure_sums(self, scope: Scope) -> Rows:
        """(command, cli_version, events, failures)."""
        return self._con.rows(
            f"SELECT command, cli_version, count(), countIf(status = 'failure') "
            f"FROM {self._events} WHERE {scope.where()} GROUP BY command, cli_version"
        )

    def failing(self, scope: Scope) -> Rows:
        """(0, command, installations with a failure) and (1, cli_version, the same)."""
        rows = self._grouping_sets(
            scope,
            ["command", "cli_version"],
            [["command"], ["cli_version"]],
            {"u": ("uniqExactState(installation_id)", "uniqExactMerge")},
            where="error_code IS NOT NULL",
        )
        return [(g, command if g == 0 else version, u) for g, command, version, u in rows]

    def installations(self, scope: Scope) -> Rows:
        """(0, day, active, new) per day; (1, week's Monday, active, 0) per week."""
        rows = self._con.rows(
            f"SELECT g, if(g = 0, day, toMonday(day)) AS k, uniqExactMerge(u), "
            f"uniqExactIfMerge(n) FROM (SELECT toDate(received_at) AS day, "
            f"uniqExactState(installation_id) AS u, "
            f"uniqExactIfState(installation_id, {self._is_new(scope)}) AS n "
            f"FROM {self._events} WHERE {scope.where()} GROUP BY day) "
            f"ARRAY JOIN [0, 1] AS g GROUP BY g, k"
        )
        return [(g, day, u, n if g == 0 else 0) for g, day, u, n in rows]

    def adoption(self, scope: Scope) -> Rows:
        """(g_day, g_version, day, version, installations, first day) for the four groupings."""
        rows = self._grouping_sets(
            scope,
            ["day", "cli_version"],
            [["day", "cli_version"], ["day"], ["cli_version"], []],
            {
                "u": ("uniqExactState(installation_id)", "uniqExactMerge"),
                "first": ("min(toDate(received_at))", "min"),
            },
            derived={"day": "toDate(received_at)"},
        )
        flags = {0: (0, 0), 1: (0, 1), 2: (1, 0), 3: (1, 1)}
        return [(*flags[g], day, version, u, first) for g, day, version, u, first in rows]

    def platforms(self, scope: Scope) -> Rows:
        """(g_os, g_interactive, os_arch, interactive, events, installations)."""
        rows = self._grouping_sets(
            scope,
            ["os_arch", "is_interactive"],
            [["os_arch"], ["is_interactive"], []],
            {"ev": ("count()", "sum"), "u": ("uniqExactState(installation_id)", "uniqExactMerge")},
        )
        flags = {0: (0, 1), 1: (1, 0), 2: (1, 1)}
        return [
            (*flags[g], os_arch, None if flag is None else bool(flag), ev, u)
            for g, os_arch, flag, ev, u in rows
        ]

    def dimensions(self, scope: Scope) -> Rows:
        """(0, command, events), (1, cli_version, events), (2, os_arch, events): most used first."""
        rows = self._grouping_sets(
            scope,
            ["command", "cli_version", "os_arch"],
            [["command"], ["cli_version"], ["os_arch"]],
            {"ev": ("count()", "sum")},
        )
        answer = [(g, [c, v, o][g], ev) for g, c, v, o, ev in rows]
        return sorted(answer, key=lambda r: (r[0], -r[2], r[1]))
