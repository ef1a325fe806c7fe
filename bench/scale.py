"""`make bench-scale`: Candor on ClickHouse — ingest through the collector, queries at 10 M events.

Starts a throwaway ClickHouse server (Debian's clickhouse-server, as the tests do: loopback,
free ports, a temporary directory) and prints:

1. events/s into ClickHouse through one `candor serve --store clickhouse://…`, with wrk:
   single-event POSTs (at two concurrencies, next to a hello-world ceiling served the same
   way) and 500-event batches; each request has a fresh Idempotency-Key, as the real sender's;
2. INSERT statements per second that reached ClickHouse meanwhile (its InsertQuery counter);
3. the full dashboard (every section, 30 and 90 days) and each question on 10 M synthetic
   events, on the server and on chDB (ClickHouse's current engine, in process): median of
   --runs warm runs, and the first (cold) one;
4. compressed bytes per stored event, from system.parts / system.columns.

It asserts nothing: figures depend on the machine and its load, printed too.

    python bench/scale.py [--events 10000000 (0: no queries)] [--duration 10] [--skip-ingest]
        [--skip-chdb] [--skip-server] [--connections 256,960] [--batch-connections 64]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support (the server launcher) and bench.collector

from bench.collector import (  # noqa: E402
    BATCH,
    free_port,
    run_wrk,
    start,
    stop,
    wait_ready,
    write_inputs,
)
from tests.support.clickhouse import ClickHouseServer, skip_reason  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

BIN = Path(sys.executable).parent
TARGETS = (
    "targets on 2 cores: >= 100,000 events/s in batches; single events at DuckDB's share of "
    "the ceiling; a few inserts/s per collector; full dashboard on 10 M events <= 1 s; "
    "<= 25 compressed bytes per event"
)


def inserts_so_far(server: ClickHouseServer) -> int:
    text = server.http("SELECT value FROM system.events WHERE event = 'InsertQuery'")
    return int(text.strip() or 0)


def ingest(server: ClickHouseServer, work: Path, args: argparse.Namespace) -> list[str]:
    """wrk against the hello-world ceiling and the collector; one printed line per run."""
    script, single, batch = write_inputs(work)
    levels = [int(level) for level in args.connections.split(",")]

    hello_port = free_port()
    hello = start([sys.executable, str(work / "hello.py"), str(hello_port)], work)
    try:
        hello_url = f"http://127.0.0.1:{hello_port}/v1/event"
        wait_ready(hello_url, hello)
        ceilings = {
            level: run_wrk(hello_url, single, script, args, level, hello) for level in levels
        }
    finally:
        stop(hello)

    port = free_port()
    command = [
        str(BIN / "candor"), "serve", "--port", str(port), "--store", server.url("ingest"),
        "--log-level", "warning", "--rate-limit", "10000000",
    ]  # fmt: skip
    collector = start(command, work)
    lines = [f"{'':44}{'2xx/s':>10}{'events/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'inserts/s':>11}"]
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/healthz", collector)
        runs = [(f"{BATCH} events, -c{args.batch_connections}", batch,
                 args.batch_connections, BATCH)]  # fmt: skip
        runs += [(f"1 event, -c{level}", single, level, 1) for level in levels]
        for label, body, connections, size in runs:
            time.sleep(2)  # the previous run's connections close, so they count against nothing
            before, started = inserts_so_far(server), time.monotonic()
            result = run_wrk(f"{base}/v1/event", body, script, args, connections, collector)
            inserts = (inserts_so_far(server) - before) / (time.monotonic() - started)
            ok = answered(result, args)
            lines.append(
                f"{'candor serve → ClickHouse, ' + label:44}{ok:>10,.0f}"
                f"{ok * size:>11,.0f}{result['p50']:>9.1f}{result['p99']:>9.1f}"
                f"{inserts:>11.1f}  CPU µs/event: collector {result['cpu_us'] / size:.1f}, "
                f"store process {result['store_cpu_us'] / size:.1f}"
                + (f"  (and {result['non2xx']:,.0f} immediate 503s)" if result["non2xx"] else "")
            )
            if size == 1:
                ceiling = answered(ceilings[connections], args)
                lines.append(
                    f"{'  hello-world ceiling, ' + label:44}{ceiling:>10,.0f}"
                    f"{'':11}{'':9}{'':9}  ratio {ok / ceiling:.0%}"
                )
    finally:
        stop(collector)
    stored = server.http("SELECT count() FROM ingest.events").strip()
    lines.append(f"events stored by the runs above: {int(stored):,}")
    return lines


def answered(result: dict[str, float], args: argparse.Namespace) -> float:
    """2xx answers per second: wrk's rate counts the 503s a collector (or the hello-world
    app, under the same connection limits) answers at once past its 1,000 requests."""
    return result["rps"] - result["non2xx"] / float(args.duration)


def timed(action: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(first run, median of the next `runs`) in milliseconds."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:])


def queries(url: str, label: str, args: argparse.Namespace) -> list[str]:
    """Load --events synthetic events into the store at `url`; time the dashboard."""
    from candor.analytics import queries as q
    from candor.storage import open_store
    from candor.storage.questions import NO_FILTERS, Filters, TimeRange
    from candor.storage.synthetic import SyntheticEvents

    store = open_store(url)
    lines = []
    try:
        end = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        started = time.perf_counter()
        store.insert_synthetic(SyntheticEvents(args.events, days=90, seed=7, end=end))
        load_s = time.perf_counter() - started
        lines.append(f"{label}: {args.events:,} synthetic events loaded in {load_s:.1f} s")
        today = end.date()
        ranges = {d: TimeRange(today - dt.timedelta(days=d - 1), today) for d in (30, 90)}
        rows = []
        for days, time_range in ranges.items():
            cold, warm = timed(lambda r=time_range: q.summary(store, r, NO_FILTERS), args.runs)
            rows.append((f"full dashboard, {days} days", cold, warm))
        filtered = Filters(command="build")
        cold, warm = timed(lambda: q.summary(store, ranges[30], filtered), args.runs)
        rows.append(("full dashboard, 30 days, command=build", cold, warm))
        for name in ("overview", "commands", "performance", "errors", "installations",
                     "adoption", "platforms"):  # fmt: skip
            function = getattr(q, name)
            cold, warm = timed(lambda f=function: f(store, ranges[30], NO_FILTERS), args.runs)
            rows.append((f"  {name}, 30 days", cold, warm))
        lines.append(f"{'':44}{'cold ms':>10}{'warm ms':>10}")
        lines += [f"{name:44}{cold:>10.0f}{warm:>10.0f}" for name, cold, warm in rows]
        lines += storage_lines(store)
    finally:
        store.close()
    return lines


def storage_lines(store: Any) -> list[str]:
    """Compressed bytes per stored event, in total and per column."""
    database = store.layout.database
    ((compressed, uncompressed, events),) = store.query(
        "SELECT sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(rows) "
        "FROM system.parts WHERE active AND database = ? AND table = 'events'",
        [database],
    )
    columns = store.query(
        "SELECT name, data_compressed_bytes FROM system.columns "
        "WHERE database = ? AND table = 'events' ORDER BY data_compressed_bytes DESC",
        [database],
    )
    per_column = ", ".join(f"{name} {int(size) / events:.1f}" for name, size in columns)
    return [
        f"storage: {int(compressed) / events:.1f} compressed bytes per event "
        f"({int(uncompressed) / events:.1f} uncompressed) over {int(events):,} events",
        f"  per column: {per_column}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    # Below the collector's MAX_CONCURRENCY (1000): past it uvicorn answers 503 at once. A
    # request waits for its group (a second, or 10,000 events), so throughput is about
    # connections per second for single events, and batches need 20+ connections in flight
    # to fill a group before the second is up.
    parser.add_argument("--connections", default="256,960", help="single-event runs")
    parser.add_argument("--batch-connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--runs", type=int, default=3, help="warm runs per query")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-chdb", action="store_true")
    # Loading 10 M events into 18.16 takes minutes (rows go through Python), chDB seconds.
    parser.add_argument("--skip-server", action="store_true", help="queries on chDB only")
    args = parser.parse_args()
    reason = skip_reason()
    if reason:
        print(f"bench-scale: {reason}")
        return 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="candor-scale-") as tmp:
        work = Path(tmp)
        lines = []
        if not (args.skip_server and args.skip_ingest):
            server = ClickHouseServer(work / "clickhouse").start()
            version = server.http("SELECT version()").strip()
            try:
                if not args.skip_ingest:
                    if shutil.which("wrk") is None:
                        lines.append("ingest: skipped, needs wrk (`make system-deps`)")
                    else:
                        lines += ingest(server, work, args)
                if args.events and not args.skip_server:
                    url = server.url("dashboard")
                    lines += queries(url, f"ClickHouse {version} server", args)
            finally:
                server.stop()
        if args.events and not args.skip_chdb:
            try:
                import chdb
            except ImportError:
                lines.append("chDB: not installed (it is in candor[dev])")
            else:
                url = f"chdb://{work / 'chdb'}"
                lines += queries(url, f"chDB {chdb.__version__} (in process)", args)
    load = os.getloadavg()
    print(
        f"scale benchmark: {os.cpu_count()} cores, collector and ClickHouse on this machine, "
        f"load average {load_before:.2f} before, {load[0]:.2f} after"
    )
    print(TARGETS)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
