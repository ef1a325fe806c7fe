"""`insert_synthetic` for ClickHouse: the DuckDB store's generator, moved into ClickHouse.

The synthetic model (candor.storage.synthetic) is drawn by one SQL statement written for
DuckDB (candor.storage.duckdb.synthetic); running that same statement in an in-memory DuckDB
and moving its rows makes a seed give the same events on every backend, which the parity tests
and the benchmarks rely on. chDB reads them from a Parquet file, a server in 100 000-row inserts.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import TYPE_CHECKING

from candor.schema import FIELD_NAMES
from candor.storage.clickhouse.connection import ChdbConnection, Settings

if TYPE_CHECKING:
    from candor.storage.clickhouse.connection import Connection
    from candor.storage.clickhouse.schema import Layout
    from candor.storage.synthetic import SyntheticEvents

BLOCK_ROWS = 100_000
COLUMNS = (*FIELD_NAMES, "received_at")


def insert(con: Connection, layout: Layout, spec: SyntheticEvents, settings: Settings) -> int:
    """Add the events `spec` describes to `layout`'s events table; returns how many."""
    import duckdb

    from candor.storage.duckdb.store import events_ddl
    from candor.storage.duckdb.synthetic import insert_sql

    with contextlib.closing(duckdb.connect()) as local, tempfile.TemporaryDirectory() as tmp:
        local.execute(f"SET temp_directory = '{tmp}'")
        local.execute(events_ddl())
        local.execute(insert_sql(spec))
        if isinstance(con, ChdbConnection):
            path = os.path.join(tmp, "synthetic.parquet")
            local.execute(f"COPY (SELECT * FROM events) TO '{path}' (FORMAT parquet)")
            con.run(
                f"INSERT INTO {layout.table('events')} ({', '.join(COLUMNS)}) "
                f"SELECT {', '.join(COLUMNS)} FROM file('{path}', Parquet)"
            )
            return spec.events
        # Cast by DuckDB into what the driver sends as they are (times as integers in the
        # column's unit), moved as columns: no per-value conversion in Python.
        unit = 1 if layout.subsecond else 1_000_000
        columns = [
            "is_interactive::UTINYINT" if name == "is_interactive"
            else f"epoch_us(received_at) // {unit}" if name == "received_at" else name
            for name in COLUMNS
        ]  # fmt: skip
        cursor = local.execute(f"SELECT {', '.join(columns)} FROM events")
        while rows := cursor.fetchmany(BLOCK_ROWS):
            data = list(zip(*rows, strict=True))
            con.insert(layout.table("events"), COLUMNS, data, settings, columnar=True)
    return spec.events
