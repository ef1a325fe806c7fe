"""Pre-aggregated tables the analytics read, folded in from the events behind a watermark.

The store calls `create(con)` when it opens a database, and `fold(con, after)` to fold every
event received after the watermark `after` into the rollups: at most about once a second while
the collector ingests, before any query that reads a rollup, at close and at the next open
(after a crash). `fold` records the new watermark in `rollup_state.folded_through` in the same
transaction as the rows it adds, so the rollups count every event up to the watermark exactly
once, whatever was interrupted. `update(con, relation)` folds an explicit set of rows (the
store's path for rows received before the watermark).

Why these tables (measured on 10 M synthetic events, 193 k installations, 90 days, 2 cores):
exact distinct-installation counts over the raw events take 0.3–0.5 s a query, and a rollup
keyed by (day, installation) barely shrinks the data (6.4 M rows: most installations run a
command or two a day), so counting distinct installations in it with a hash table costs as much
(0.28–0.39 s). A sketch would not help either: per day and group there are fewer installations
than registers. What makes it cheap is a dense integer per installation: `bitstring_agg(iid, 1,
max_iid)` sets one bit per row in a bitmap per output group, and `bit_count` is the exact
distinct count: 12–30 ms on an idle machine for the same questions.

- `rollup_installations`: installation_id → dense `iid` (1, 2, …) and when it was first seen.
- `rollup_daily_usage`: per UTC day × installation × command × cli_version × os_arch ×
  is_interactive, the number of events and failures; `is_new` marks the installation's first day.
- `rollup_daily_errors`: the same grain plus error_code, failures only.
- `rollup_daily_counts`: per UTC day × command × cli_version × os_arch × is_interactive, the
  events and failures (38 789 rows for the 10 M events: what every sum, filter menu and top
  values list is read from, instead of the 6.3 M rows above).
- `rollup_daily_durations`: the same grain × a duration bucket (`bucket_sql`), the number of
  runs, the slowest and every duration of the bucket (a list). Percentiles are exact
  nearest-rank values from it in two steps (`candor.storage.duckdb.questions`): the runs per
  bucket say which bucket holds each rank, and only those buckets' durations are sorted.
- `rollup_daily_active`: per UTC day and block of 65 536 installation numbers, the bitmap of
  the installations active that day and of those new that day (24 KB a day for 193 k
  installations): the unfiltered installation counts OR a few of them instead of setting a
  bit per usage row.
- `rollup_daily_reach`: per UTC day, dimension (command, cli_version, os_arch,
  is_interactive), value and block of 1 024 installation numbers, the bitmap of the
  installations with that value that day (266 k rows, 34 MB for the 10 M events): installations
  per command, version or platform OR a few of them (91 days: ~15 ms) instead of setting a bit
  per usage row (6.3 M rows: ~40–90 ms). Small blocks keep a flood of sparse values small (a
  block holds 128 bytes however few of its installations are set).
- `rollup_state`: the layout version (a mismatch rebuilds everything), compaction state and
  the watermark: every event received at or before `folded_through` is in the rollups, none
  after it.

These tables hold per-installation activity: they exist only to count exactly, the analytics
never return a row of them, and `prune` applies the same retention as to the raw events.

`update` appends the batch's aggregates, so a key can have several rows (sums, bitmaps and
lists of durations do not mind). After `COMPACT_AFTER_ROWS` appended rows, the days touched
since the last compaction are re-aggregated in place, so under steady ingest the rollups stay
about as small as after a rebuild. Every function takes anything with DuckDB's
`execute(sql, params)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt

LAYOUT_VERSION = 6  # bump when a table below changes: open() then rebuilds from events
# Appended rollup rows before the days touched are re-aggregated: large enough that a commit
# rarely pays for it, small enough that the duplicate rows stay a small share of the table.
COMPACT_AFTER_ROWS = 200_000

# Tables of earlier layouts, dropped when the rollups are rebuilt.
RETIRED = ("rollup_daily_versions",)
TABLES = (
    "rollup_daily_active",
    "rollup_daily_counts",
    "rollup_daily_durations",
    "rollup_daily_errors",
    "rollup_daily_reach",
    "rollup_daily_usage",
    "rollup_installations",
    "rollup_state",
)
DIMENSIONS = "command, cli_version, os_arch, is_interactive"
# Duration buckets: exact below 2**BUCKET_BITS ms, then 2**BUCKET_BITS buckets per doubling
# (each about 6 % wide). Finer buckets mean more rows to add up, coarser ones more durations
# to sort for each percentile: on the 10 M events, 970 k rows, and 0.6 M durations sorted for
# the 91-day percentiles per release (4 per doubling: 376 k rows, 2 M durations).
BUCKET_BITS = 4
# Installation numbers per bitmap of rollup_daily_active (8 KB each).
BLOCK_BITS = 16
# Installation numbers per bitmap of rollup_daily_reach (128 bytes each), and its dimensions.
REACH_BLOCK_BITS = 10
REACH_DIMENSIONS = ("command", "cli_version", "os_arch", "is_interactive")
REACH_CHUNKS = 16  # built (rebuild_sql) and compacted (compact) in this many parts
FOLDING = "candor_folding"  # a temporary table: the rows being folded, numbered

DDL = f"""
CREATE TABLE IF NOT EXISTS rollup_state (
  layout INTEGER NOT NULL, pending_rows BIGINT NOT NULL, dirty_from DATE,
  folded_through TIMESTAMP
);
CREATE TABLE IF NOT EXISTS rollup_installations (
  iid INTEGER NOT NULL, installation_id UUID NOT NULL, first_seen TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_daily_usage (
  day DATE NOT NULL, iid INTEGER NOT NULL, command VARCHAR NOT NULL,
  cli_version VARCHAR NOT NULL, os_arch VARCHAR NOT NULL, is_interactive BOOLEAN NOT NULL,
  is_new BOOLEAN NOT NULL, events INTEGER NOT NULL, failures INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_daily_errors (
  day DATE NOT NULL, iid INTEGER NOT NULL, command VARCHAR NOT NULL,
  cli_version VARCHAR NOT NULL, os_arch VARCHAR NOT NULL, is_interactive BOOLEAN NOT NULL,
  error_code VARCHAR NOT NULL, events INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_daily_counts (
  day DATE NOT NULL, command VARCHAR NOT NULL, cli_version VARCHAR NOT NULL,
  os_arch VARCHAR NOT NULL, is_interactive BOOLEAN NOT NULL, events INTEGER NOT NULL,
  failures INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_daily_durations (
  day DATE NOT NULL, command VARCHAR NOT NULL, cli_version VARCHAR NOT NULL,
  os_arch VARCHAR NOT NULL, is_interactive BOOLEAN NOT NULL, bucket SMALLINT NOT NULL,
  runs INTEGER NOT NULL, slowest INTEGER NOT NULL, durations INTEGER[] NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_daily_active (
  day DATE NOT NULL, block SMALLINT NOT NULL, active BITSTRING NOT NULL, new BITSTRING
);
CREATE TABLE IF NOT EXISTS rollup_daily_reach (
  day DATE NOT NULL, dimension VARCHAR NOT NULL, value VARCHAR NOT NULL, block INTEGER NOT NULL,
  active BITSTRING NOT NULL
);
INSERT INTO rollup_state SELECT {LAYOUT_VERSION}, 0, NULL, NULL
  WHERE NOT EXISTS (SELECT 1 FROM rollup_state);
"""


def _numbered(source: str) -> str:
    """`source` (rows shaped like events) with what every rollup groups by: the day, the
    installation number, whether that day was the installation's first, failed, the duration."""
    return f"""(
SELECT e.received_at::DATE AS day, i.iid, e.command, e.cli_version, e.os_arch, e.is_interactive,
  e.received_at::DATE = i.first_seen::DATE AS is_new, e.status = 'failure' AS failed,
  e.error_code, e.duration_ms::INTEGER AS duration
FROM {source} AS e JOIN rollup_installations AS i ON i.installation_id = e.installation_id)"""


def _plain(source: str) -> str:
    """`source` with the columns of `_numbered` the rollups without installations need."""
    return f"""(
SELECT received_at::DATE AS day, {DIMENSIONS}, status = 'failure' AS failed,
  duration_ms::INTEGER AS duration
FROM {source})"""


# Each rollup's rows from a relation shaped like `_numbered` (counts and durations: `_plain`).
def _usage_select(rows: str) -> str:
    return f"""
SELECT day, iid, {DIMENSIONS}, is_new, count(*)::INTEGER AS events,
  count(*) FILTER (WHERE failed)::INTEGER AS failures
FROM {rows} GROUP BY ALL"""


def _errors_select(rows: str) -> str:
    return f"""
SELECT day, iid, {DIMENSIONS}, error_code, count(*)::INTEGER AS events
FROM {rows} WHERE error_code IS NOT NULL GROUP BY ALL"""


def _counts_select(rows: str) -> str:
    return f"""
SELECT day, {DIMENSIONS}, count(*)::INTEGER AS events,
  count(*) FILTER (WHERE failed)::INTEGER AS failures
FROM {rows} GROUP BY ALL"""


def _durations_select(rows: str) -> str:
    return f"""
SELECT day, {DIMENSIONS}, {bucket_sql("duration")} AS bucket, count(*)::INTEGER AS runs,
  max(duration) AS slowest, list(duration) AS durations
FROM {rows} GROUP BY ALL"""


def _active_select(rows: str) -> str:
    last = (1 << BLOCK_BITS) - 1
    return f"""
SELECT day, (iid >> {BLOCK_BITS})::SMALLINT AS block,
  bitstring_agg(iid & {last}, 0, {last}) AS active,
  bitstring_agg(iid & {last}, 0, {last}) FILTER (WHERE is_new) AS new
FROM {rows} GROUP BY ALL"""


def _reach_select(rows: str, dimensions: tuple[str, ...] = REACH_DIMENSIONS) -> str:
    last = (1 << REACH_BLOCK_BITS) - 1
    return " UNION ALL ".join(
        f"""
SELECT day, '{dimension}' AS dimension, {dimension}::VARCHAR AS value,
  (iid >> {REACH_BLOCK_BITS})::INTEGER AS block, bitstring_agg(iid & {last}, 0, {last}) AS active
FROM {rows} GROUP BY ALL"""
        for dimension in dimensions
    )


def bucket_sql(duration: str) -> str:
    """SQL: the bucket of an INTEGER duration. Buckets are ranges of durations in order (a
    longer duration never falls in a lower bucket), which is all exactness needs: below
    2**BUCKET_BITS each duration is its own bucket; above, a bucket is the duration's highest
    bit and the BUCKET_BITS bits after it (log2 is exact at powers of two, so its floor is the
    highest bit for every duration up to 2**31)."""
    low = 1 << BUCKET_BITS
    shift = f"(floor(log2({duration}))::INTEGER - {BUCKET_BITS})"
    return (
        f"CASE WHEN {duration} < {low} THEN {duration} "
        f"ELSE {shift} * {low} + ({duration} >> {shift}) END::SMALLINT"
    )


# The rollups folded from `_numbered` rows, and those folded from `_plain` ones.
NUMBERED = {
    "rollup_daily_usage": _usage_select,
    "rollup_daily_errors": _errors_select,
    "rollup_daily_active": _active_select,
    "rollup_daily_reach": _reach_select,
}
PLAIN = {"rollup_daily_counts": _counts_select, "rollup_daily_durations": _durations_select}


def rebuild_sql() -> str:
    """Statements that recompute every rollup from `events` (one transaction, no parameters).

    Use after a bulk load with plain SQL (`candor generate`): far faster than folding rows in
    batch by batch. Rows go in sorted by day, so the zone maps skip days outside a range.
    """
    inserts = "".join(
        f"INSERT INTO {table} SELECT * FROM ({select(source)}) ORDER BY {_order(table)};\n"
        for selects, source in ((NUMBERED, _numbered("events")), (PLAIN, _plain("events")))
        for table, select in selects.items()
        if table != "rollup_daily_reach"
    )
    # From the usage rollup just built (fewer rows, already numbered), one dimension and one
    # day in REACH_CHUNKS at a time: bitmap states do not spill to disk, and all of them at
    # once (145 k for the commands of the 10 M events) ran out of the collector's 96 MB.
    inserts += "".join(
        f"INSERT INTO rollup_daily_reach SELECT * FROM ({_reach_select(chunk, (dimension,))}) "
        "ORDER BY day;\n"
        for dimension in REACH_DIMENSIONS
        for part in range(REACH_CHUNKS)
        for chunk in (
            f"(SELECT * FROM rollup_daily_usage "
            f"WHERE datediff('day', DATE '2000-01-01', day) % {REACH_CHUNKS} = {part})",
        )
    )
    return f"""
DELETE FROM rollup_daily_active;
DELETE FROM rollup_daily_counts;
DELETE FROM rollup_daily_durations;
DELETE FROM rollup_daily_errors;
DELETE FROM rollup_daily_reach;
DELETE FROM rollup_daily_usage;
DELETE FROM rollup_installations;
INSERT INTO rollup_installations
SELECT (row_number() OVER (ORDER BY first_seen, installation_id))::INTEGER, installation_id,
  first_seen
FROM (SELECT installation_id, min(received_at) AS first_seen FROM events GROUP BY 1);
{inserts}UPDATE rollup_state SET pending_rows = 0, dirty_from = NULL,
  folded_through = (SELECT max(received_at) FROM events);
"""


def create(con: Any) -> None:
    """Create the rollup tables if they are missing (and backfill them from `events`)."""
    present = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'rollup_%'"
        ).fetchall()
    }
    if "rollup_state" in present:
        ((layout,),) = con.execute("SELECT max(layout) FROM rollup_state").fetchall()
        if layout == LAYOUT_VERSION and present.issuperset(TABLES):
            return
    statements = "".join(f"DROP TABLE IF EXISTS {name};\n" for name in (*RETIRED, *TABLES))
    statements += DDL + rebuild_sql()
    _in_transaction(con, statements)


def rebuild(con: Any) -> None:
    """Recompute every rollup from `events`, in one transaction, on a DuckDB connection.

    Through a `Store`, run `store.execute(rebuild_sql())` instead: it is already one transaction.
    """
    _in_transaction(con, rebuild_sql())


def update(con: Any, relation: str, *, compact_after: int = COMPACT_AFTER_ROWS) -> None:
    """Fold the rows of `relation` (just inserted into `events`) into the rollup tables."""
    con.execute(f"""
INSERT INTO rollup_installations
SELECT (SELECT coalesce(max(iid), 0) FROM rollup_installations)
    + (row_number() OVER (ORDER BY first_seen, installation_id))::INTEGER,
  installation_id, first_seen
FROM (SELECT installation_id, min(received_at) AS first_seen FROM {relation} GROUP BY 1) AS n
WHERE NOT EXISTS (
  SELECT 1 FROM rollup_installations AS i WHERE i.installation_id = n.installation_id
)""")
    # Each event numbered once (a join with every installation), then rolled up five ways.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FOLDING} AS SELECT * FROM {_numbered(relation)}")
    appended = 0
    for table, select in (*NUMBERED.items(), *PLAIN.items()):
        # fetchall, not fetchone: DuckDB keeps a result open until it is fully read.
        ((count,),) = con.execute(f"INSERT INTO {table} {select(FOLDING)}").fetchall()
        if table == "rollup_daily_usage":
            appended = count
    con.execute(f"DROP TABLE {FOLDING}")
    con.execute(
        f"UPDATE rollup_state SET pending_rows = pending_rows + $1, "
        f"dirty_from = least(coalesce(dirty_from, DATE '9999-12-31'), "
        f"(SELECT min(received_at)::DATE FROM {relation}))",
        [appended],
    )
    ((pending, dirty_from),) = con.execute(
        "SELECT pending_rows, dirty_from FROM rollup_state"
    ).fetchall()
    if pending >= compact_after and dirty_from is not None:
        compact(con, dirty_from)


def watermark(con: Any) -> dt.datetime | None:
    """The newest received_at already folded in (None: nothing is, every event is pending)."""
    rows = con.execute("SELECT max(folded_through) FROM rollup_state").fetchall()
    folded_through: dt.datetime | None = rows[0][0]
    return folded_through


def fold(con: Any, after: dt.datetime | None) -> tuple[int, dt.datetime | None]:
    """Fold the events received after `after` (every event when None) into the rollups.

    Run it inside the caller's transaction, with no other writer: it records the newest
    received_at folded as the new watermark, so the rollups and the watermark move together.
    Returns (events folded, the new watermark).
    """
    pending = "events" if after is None else f"events WHERE received_at > {_timestamp(after)}"
    ((count, newest),) = con.execute(f"SELECT count(*), max(received_at) FROM {pending}").fetchall()
    if not count:
        return 0, after
    update(con, f"(SELECT * FROM {pending})")
    con.execute("UPDATE rollup_state SET folded_through = $1", [newest]).fetchall()
    return int(count), newest


def _timestamp(moment: dt.datetime) -> str:
    """A TIMESTAMP literal (naive UTC, microseconds): exact, and no parameter to thread through."""
    return f"TIMESTAMP '{moment.isoformat(sep=' ', timespec='microseconds')}'"


# What compact() re-aggregates: table → (its key columns, its values once re-aggregated).
COMPACTED = {
    "rollup_daily_usage": (
        f"day, iid, {DIMENSIONS}, is_new",
        "sum(events)::INTEGER, sum(failures)::INTEGER",
    ),
    "rollup_daily_errors": (f"day, iid, {DIMENSIONS}, error_code", "sum(events)::INTEGER"),
    "rollup_daily_counts": (f"day, {DIMENSIONS}", "sum(events)::INTEGER, sum(failures)::INTEGER"),
    "rollup_daily_durations": (
        f"day, {DIMENSIONS}, bucket",
        "sum(runs)::INTEGER, max(slowest), flatten(list(durations))",
    ),
    "rollup_daily_active": ("day, block", "bit_or(active), bit_or(new)"),
    "rollup_daily_reach": ("day, dimension, value, block", "bit_or(active)"),
}


def _order(table: str) -> str:
    """How a rollup's rows are sorted when (re)written: by day, so zone maps skip days."""
    return "day, iid" if "iid" in COMPACTED[table][0] else "day"


def compact(con: Any, since: dt.date) -> None:
    """Re-aggregate the rollup rows of the days from `since` on, one row per key again."""
    for table, (keys, values) in COMPACTED.items():
        # The reach bitmaps in parts by block: their states do not spill, and a flood of
        # sparse values (300 000 installations, 5 000 versions in a day) ran out of 64 MB.
        parts = REACH_CHUNKS if table == "rollup_daily_reach" else 1
        for part in range(parts):
            rows = f"day >= $1 AND block % {parts} = {part}" if parts > 1 else "day >= $1"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE candor_compacted AS SELECT {keys}, {values} "
                f"FROM {table} WHERE {rows} GROUP BY ALL ORDER BY {_order(table)}",
                [since],
            )
            con.execute(f"DELETE FROM {table} WHERE {rows}", [since])
            con.execute(f"INSERT INTO {table} SELECT * FROM candor_compacted")
            con.execute("DROP TABLE candor_compacted")
    con.execute("UPDATE rollup_state SET pending_rows = 0, dirty_from = NULL")


def prune(con: Any, before: dt.datetime) -> None:
    """Apply the raw events' retention to the rollups: drop the days wholly before `before`.

    An installation with no day left is forgotten too (its first-seen date is history).
    """
    for table in COMPACTED:
        con.execute(f"DELETE FROM {table} WHERE day < $1::DATE", [before])
    con.execute(
        "DELETE FROM rollup_installations WHERE first_seen < $1 AND iid NOT IN "
        "(SELECT DISTINCT iid FROM rollup_daily_usage)",
        [before],
    )


def _in_transaction(con: Any, statements: str) -> None:
    """Run `statements` atomically: in a transaction of our own, or the caller's if one is open."""
    import duckdb

    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:
        # Already inside the caller's transaction, which makes the statements atomic.
        con.execute(statements)
        return
    try:
        con.execute(statements)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
