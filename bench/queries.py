"""`make bench-queries`: generate 10 M events, then time every dashboard query and a full load.

Prints figures and the targets of issue #13 next to them; asserts nothing (speed lives here, not
in the tests). Targets on 2 cores: over all 91 days, the slowest single query ≤ 100 ms and the
whole dashboard ≤ 400 ms; over the default 30 days, the whole dashboard ≤ 200 ms (and, from
issue #5, generation of 10 M events < 60 s). Each figure is the median of --runs runs on a warm
store; the load average is printed too, since other work on the machine changes the numbers.

    python bench/queries.py                      # 10 M events in a temporary store
    python bench/queries.py --events 1000000 --store /tmp/b.duckdb --keep
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from candor.analytics import queries
from candor.analytics.answers import to_jsonable
from candor.analytics.filters import Filters, TimeRange
from candor.analytics.generate import DEFAULT_DAYS, generate_events
from candor.server.runtime.settings import DEFAULT_MEMORY_LIMIT
from candor.storage import open_store

if TYPE_CHECKING:
    from collections.abc import Callable

    from candor.storage.base import Store

# Issue #13's targets: the slowest query and the whole dashboard over all the days, and the
# whole dashboard over the default 30 (None: no target for that case).
QUERY_TARGET_MS = 100
DASHBOARD_TARGET_MS = 400
DEFAULT_DASHBOARD_TARGET_MS = 200
GENERATION_TARGET_S = 60
COMMIT_BATCH = 500  # events per commit when timing commits, the client's batch size
COMMITS = 20
BATCH_EVENT = {
    "event_version": "1.0", "installation_id": "", "cli_version": "9.9.9", "command": "build",
    "os_arch": "linux-x86_64", "duration_ms": 0, "status": "success", "error_code": None,
    "is_interactive": True,
}  # fmt: skip


def median_ms(action: Callable[[], object], runs: int) -> float:
    """Median wall time of `action` over `runs` runs, after one warm-up run."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def dashboard_load(store: Store, time_range: TimeRange, filters: Filters) -> str:
    """What the dashboard asks for on load or on a filter change, as the JSON it is sent as."""
    answers = queries.summary(store, time_range, filters)
    answers["dimensions"] = queries.dimensions(store, time_range)
    return json.dumps(to_jsonable(answers))


# What the dashboard's requests run: each section's function (performance split into its two
# statements, the slowest of all), then the filter menus.
TIMED = (
    "overview", "commands", "latency_by_command", "latency_by_version", "errors",
    "installations", "adoption", "platforms",
)  # fmt: skip


def timed_queries(
    store: Store, time_range: TimeRange, filters: Filters
) -> dict[str, Callable[[], object]]:
    """Each dashboard query, ready to call."""
    calls: dict[str, Callable[[], object]] = {
        name: functools.partial(getattr(queries, name), store, time_range, filters)
        for name in TIMED
    }
    calls["dimensions"] = functools.partial(queries.dimensions, store, time_range)
    return calls


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--store", type=Path, help="DuckDB file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --store if it has events")
    args = parser.parse_args(argv)

    temporary = None
    if args.store is None:
        temporary = tempfile.TemporaryDirectory(prefix="candor-bench-")
        args.store = Path(temporary.name) / "events.duckdb"
    print(f"candor bench-queries: {os.cpu_count()} CPUs, DuckDB {duckdb.__version__}, "
          f"{load_average()}")  # fmt: skip
    # Generated as `candor generate` does (no memory limit), then queried under the collector's
    # own limit: the analytics answer through its store process.
    store = open_store(str(args.store))
    try:
        existing = store.count_events()
        if not (args.keep and existing):
            if existing:
                store.prune(dt.datetime.max)
            started = time.perf_counter()
            generate_events(store, args.events, days=args.days)  # events, then rollups rebuilt
            generated = time.perf_counter() - started
            print(f"generate {args.events:,} events and rebuild the rollups: {generated:.1f} s "
                  f"(target < {GENERATION_TARGET_S} s: "
                  f"{verdict(generated, GENERATION_TARGET_S)})")  # fmt: skip
    finally:
        store.close()
    store = open_store(str(args.store), memory_limit=DEFAULT_MEMORY_LIMIT)
    try:
        report_sizes(store, args.store)
        today = dt.datetime.now(dt.UTC).date()
        every_day = f"all {args.days + 1} days"
        # (label, range, filters, slowest query target, whole dashboard target)
        cases = [
            ("last 30 days (dashboard default)", TimeRange.last(30, today), Filters(), None,
             DEFAULT_DASHBOARD_TARGET_MS),
            ("last 7 days", TimeRange.last(7, today), Filters(), None, None),
            (every_day, TimeRange.last(args.days + 1, today), Filters(), QUERY_TARGET_MS,
             DASHBOARD_TARGET_MS),
            (f"{every_day}, command=build, CI only", TimeRange.last(args.days + 1, today),
             Filters(command="build", interactive=False), None, None),
        ]  # fmt: skip
        for label, time_range, filters, query_target, dashboard_target in cases:
            print(f"\n{label}  ({load_average()})")
            slowest = 0.0
            for name, call in timed_queries(store, time_range, filters).items():
                ms = median_ms(call, args.runs)
                slowest = max(slowest, ms)
                print(f"  {name:<18} {ms:7.1f} ms")
            if query_target is not None:
                print(f"  {'slowest query':<18} {slowest:7.1f} ms  "
                      f"(target {query_target} ms: {verdict(slowest, query_target)})")  # fmt: skip
            load = functools.partial(dashboard_load, store, time_range, filters)
            ms = median_ms(load, args.runs)
            target = "" if dashboard_target is None else (
                f"  (target {dashboard_target} ms: {verdict(ms, dashboard_target)})"
            )  # fmt: skip
            print(f"  {'full dashboard':<18} {ms:7.1f} ms{target}")
        time_commits(store)
    finally:
        store.close()
        if temporary is not None:
            temporary.cleanup()
    return 0


def verdict(ms: float, target: float) -> str:
    return "ok" if ms <= target else "OVER TARGET"


def report_sizes(store: Store, path: Path) -> None:
    counts = {
        table: store.query(f"SELECT count(*) FROM {table}")[0][0]
        for table in (
            "events",
            "rollup_daily_usage",
            "rollup_daily_errors",
            "rollup_installations",
            "rollup_daily_counts",
            "rollup_daily_durations",
            "rollup_daily_active",
            "rollup_daily_reach",
        )
    }
    size = path.stat().st_size / 2**20 if path.exists() else 0.0
    print(
        "rows: "
        + ", ".join(f"{table} {n:,}" for table, n in counts.items())
        + f"; file {size:.0f} MiB"
    )


def time_commits(store: Store) -> None:
    """Commits of COMMIT_BATCH events on the big store, then the fold of their rollups (the
    collector folds about once a second, not per commit)."""
    import uuid

    batch = [
        dict(BATCH_EVENT, installation_id=str(uuid.uuid4()), duration_ms=1000 + n)
        for n in range(COMMIT_BATCH)
    ]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    times = []
    for _ in range(COMMITS):
        started = time.perf_counter()
        store.insert_events(batch, now)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    folded = store.fold_rollups(force=True)
    fold_ms = (time.perf_counter() - started) * 1000
    print(f"\ncommit of {COMMIT_BATCH} events: median "
          f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
          f"over {COMMITS} commits; then their rollup fold ({folded:,} events): "
          f"{fold_ms:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
