"""`export_events` for ClickHouse: rows streamed out in blocks, the file written by DuckDB.

DuckDB (a dependency of candor[server]) writes the file with exactly the options the DuckDB
store uses, so an export has the same columns, types and CSV text whichever store it came from;
18.16 could not write Parquet itself anyway.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from candor.schema import FIELD_NAMES
from candor.storage.base import EXPORT_FORMATS, StoreError

if TYPE_CHECKING:
    import duckdb

    from candor.storage.clickhouse.connection import Connection
    from candor.storage.clickhouse.schema import Layout
    from candor.storage.questions import TimeRange

BLOCK_ROWS = 100_000


def write(
    con: Connection, layout: Layout, path: str, fmt: str, time_range: TimeRange | None
) -> int:
    """Write the events of `time_range` (None: all), oldest first, to `path`; how many."""
    import duckdb

    from candor.storage.duckdb.store import _CSV_RECEIVED_AT, EXPORT_OPTIONS, events_ddl

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")
    where = "1"
    if time_range is not None:
        where = (
            f"received_at >= {layout.moment(time_range.start_time)} "
            f"AND received_at < {layout.moment(time_range.end_time)}"
        )
    columns = ", ".join((*FIELD_NAMES, "received_at"))
    ((total,),) = con.rows(f"SELECT count() FROM {layout.table('events')} WHERE {where}")
    with contextlib.closing(duckdb.connect()) as local:
        local.execute(events_ddl())
        # In blocks by position in received_at order, so memory stays bounded on both sides.
        for offset in range(0, int(total), BLOCK_ROWS):
            rows = con.rows(
                f"SELECT {columns} FROM {layout.table('events')} WHERE {where} "
                f"ORDER BY received_at, installation_id LIMIT {BLOCK_ROWS} OFFSET {offset}"
            )
            _append(local, rows)
        select = ", ".join(
            name if name != "received_at" or fmt != "csv" else _CSV_RECEIVED_AT
            for name in (*FIELD_NAMES, "received_at")
        )
        target = os.path.abspath(path).replace("'", "''")
        try:
            local.execute(
                f"COPY (SELECT {select} FROM events ORDER BY received_at) "
                f"TO '{target}' {EXPORT_OPTIONS[fmt]}"
            )
        except duckdb.Error as error:
            raise StoreError(f"export failed: {str(error).splitlines()[0]}") from None
    return int(total)


def _append(local: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    """Rows into DuckDB's events table through its appender (fast, typed)."""
    interactive = FIELD_NAMES.index("is_interactive")
    appender = local.appender("events")
    appender.append_rows(
        [(*r[:interactive], bool(r[interactive]), *r[interactive + 1 :]) for r in rows]
    )
    appender.flush()
