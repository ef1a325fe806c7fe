"""Which store a command opens, and the one line it prints when it cannot."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from typing import TYPE_CHECKING

import duckdb

from tests.cli.conftest import CANDOR, RUN_TIMEOUT_S
from tests.support.collector import start_collector

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Run = Callable[..., subprocess.CompletedProcess[str]]


def test_report_without_store_finds_the_make_run_store(
    candor: Run, known_file: Path, tmp_path: Path
) -> None:
    """No --store and no ./events.duckdb: `make run`'s candor-data/events.duckdb is read."""
    (tmp_path / "candor-data").mkdir()
    shutil.copy(known_file, tmp_path / "candor-data" / "events.duckdb")
    result = candor("report", "--json", "--from", "2025-03-01", "--to", "2025-03-31", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data"]["overview"]["events"] == 12


def test_report_without_any_store_says_where_to_look(candor: Run, tmp_path: Path) -> None:
    result = candor("report", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "candor report: no store at events.duckdb (give --store PATH; `make run` keeps its "
        "store in candor-data/events.duckdb in the repository)"
    ]


def test_a_file_whose_events_is_a_view_is_one_line(candor: Run, tmp_path: Path) -> None:
    """A DuckDB file that is not a Candor store: named, one line, no traceback."""
    path = tmp_path / "view.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (a INTEGER)")
        con.execute("CREATE VIEW events AS SELECT * FROM t")
    result = candor("report", "--store", str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"candor report: {path} is not a Candor store")


def test_a_busy_store_says_so_once_and_how_to_read_it(candor: Run, tmp_path: Path) -> None:
    """While `candor serve` holds the file: stop it, or read through its API (said once)."""
    collector = start_collector(tmp_path)
    try:
        result = candor("report", "--store", str(collector.store_path))
        # Through the API, --since takes the same grammar as everywhere else.
        remote = candor("report", "--url", collector.url, "--token", collector.admin_token,
                        "--since", "24h", "--json")  # fmt: skip
    finally:
        collector.stop()
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["range"]["days"] == 1
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "is open in another process" in line
    assert line.endswith("read through its API: candor report --url http://HOST:PORT --token TOKEN")
    assert line.count("read through") == 1


def test_export_dash_writes_standard_output(candor: Run, known_file: Path, tmp_path: Path) -> None:
    """`-o -` is standard output, not a file named '-'; CSV times are ISO 8601 with Z."""
    result = candor(
        "export", "--store", str(known_file), "--format", "csv", "-o", "-", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "-").exists()
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 12
    assert all(row["received_at"].endswith("Z") and "T" in row["received_at"] for row in rows)
    assert "wrote 12 events to standard output" in result.stderr


def test_export_parquet_to_a_pipe(known_file: Path, tmp_path: Path) -> None:
    """Binary Parquet on standard output, for `| duckdb` or `> file`: the same 12 rows."""
    target = tmp_path / "piped.parquet"
    with target.open("wb") as out:
        result = subprocess.run(
            [CANDOR, "export", "--store", str(known_file), "--format", "parquet", "-o", "-"],
            stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with duckdb.connect() as con:
        assert con.execute(f"SELECT count(*) FROM '{target}'").fetchall() == [(12,)]
