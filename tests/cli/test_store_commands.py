"""`candor generate`, `export` and `prune` on real store files."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import duckdb

from candor.schema import FIELD_NAMES

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    Run = Callable[..., subprocess.CompletedProcess[str]]


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_generate_fills_a_new_store_for_the_report(candor: Run, tmp_path: Path) -> None:
    """generate creates the store, adds exactly N events in the window, and report sees them."""
    store = tmp_path / "demo.duckdb"
    result = candor("generate", "--events", "5000", "--days", "10", "--store", str(store))
    assert result.returncode == 0, result.stderr
    assert "5,000 events" in result.stdout
    ((count, first, last),) = rows(
        store, "SELECT count(*), min(received_at), max(received_at) FROM events"
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert count == 5000 and now - dt.timedelta(days=10, minutes=5) < first <= last <= now
    report = json.loads(candor("report", "--store", str(store), "--since", "11d", "--json").stdout)
    assert report["data"]["overview"]["events"] == 5000
    assert rows(store, "SELECT sum(events) FROM rollup_daily_usage") == [(5000,)]


def test_generate_refuses_nonsense(candor: Run, tmp_path: Path) -> None:
    """A zero or negative size is a usage error, and nothing is created."""
    result = candor("generate", "--events", "0", "--store", str(tmp_path / "x.duckdb"))
    assert result.returncode == 2 and "--events" in result.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_export_parquet_and_csv(candor: Run, known_file: Path, tmp_path: Path) -> None:
    """Both formats hold every field and received_at; a range narrows; no silent overwrite."""
    parquet = tmp_path / "all.parquet"
    result = candor("export", "--store", str(known_file), "--format", "parquet", "-o", str(parquet))
    assert result.returncode == 0 and "12 events" in result.stdout
    with duckdb.connect() as con:
        table = con.execute(f"SELECT * FROM '{parquet}'")
        assert [column[0] for column in table.description] == [*FIELD_NAMES, "received_at"]
        assert len(table.fetchall()) == 12
    csv_file = tmp_path / "tuesday.csv"
    result = candor("export", "--store", str(known_file), "--format", "csv", "-o", str(csv_file),
                    "--from", "2025-03-04", "--to", "2025-03-04")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = csv_file.read_text().splitlines()
    assert lines[0] == ",".join((*FIELD_NAMES, "received_at")) and len(lines) == 1 + 4
    again = candor("export", "--store", str(known_file), "--format", "csv", "-o", str(csv_file))
    assert again.returncode == 2 and "--force" in again.stderr
    assert len(csv_file.read_text().splitlines()) == 5


def test_prune_deletes_old_events_and_their_rollup_days(candor: Run, known_file: Path) -> None:
    """--before 2025-03-10 removes the first eight events, their aggregates and A-less history."""
    dry = candor("prune", "--store", str(known_file), "--before", "2025-03-10", "--dry-run")
    assert dry.returncode == 0 and "would delete 8 events" in dry.stdout
    assert rows(known_file, "SELECT count(*) FROM events") == [(12,)]
    result = candor("prune", "--store", str(known_file), "--before", "2025-03-10")
    assert result.returncode == 0 and "deleted 8 events" in result.stdout
    assert rows(known_file, "SELECT count(*) FROM events") == [(4,)]
    assert rows(known_file, "SELECT DISTINCT day FROM rollup_daily_usage") == [
        (dt.date(2025, 3, 10),)
    ]
    assert rows(known_file, "SELECT count(*) FROM rollup_installations") == [(2,)]
    report = json.loads(candor("report", "--store", str(known_file), "--from", "2025-03-01",
                               "--to", "2025-03-10", "--json").stdout)  # fmt: skip
    assert report["data"]["overview"]["events"] == 4


def test_prune_by_retention(candor: Run, known_file: Path) -> None:
    """--retention AGE keeps that much: reaching back past the data deletes none, 1d all of it."""
    kept = (dt.datetime.now(dt.UTC).date() - dt.date(2025, 3, 3)).days + 1
    result = candor("prune", "--store", str(known_file), "--retention", f"{kept}d")
    assert result.returncode == 0 and "deleted 0 events" in result.stdout
    result = candor("prune", "--store", str(known_file), "--retention", "1d")
    assert "deleted 12 events" in result.stdout


def test_prune_needs_a_limit(candor: Run, known_file: Path) -> None:
    """Without --retention, --before or CANDOR_RETENTION: a usage error, nothing deleted."""
    result = candor("prune", "--store", str(known_file))
    assert result.returncode == 2 and "--retention" in result.stderr
    bad = candor("prune", "--store", str(known_file), "--retention", "forever")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert rows(known_file, "SELECT count(*) FROM events") == [(12,)]
