"""Fixtures for `candor publish`: raw events into a real DuckDB file, the real console script."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from candor.analytics.filters import utc_today
from candor.storage import open_store
from tests.cli.conftest import run_candor
from tests.publish.dataset import K, known_rows
from tests.support.dataset import event

if TYPE_CHECKING:
    from pathlib import Path

    from tests.publish.truth import Raw


def write_store(path: Path, rows: list[Raw]) -> Path:
    """A closed DuckDB file holding `rows`, one commit per day at noon UTC."""
    by_day: dict[dt.date, list[dict[str, object]]] = defaultdict(list)
    for *fields, day in rows:
        by_day[day].append(event(*fields))
    store = open_store(str(path))
    try:
        for day in sorted(by_day):
            store.insert_events(by_day[day], dt.datetime.combine(day, dt.time(12)))
    finally:
        store.close()
    return path


@pytest.fixture
def known() -> list[Raw]:
    """The small-groups data set of tests.publish.dataset, ending today (UTC)."""
    return known_rows(utc_today())


@pytest.fixture
def known_store(tmp_path: Path, known: list[Raw]) -> Path:
    """A DuckDB file holding the known data set."""
    return write_store(tmp_path / "known.duckdb", known)


def publish(store: Path, out: Path, *args: str) -> dict[str, Any]:
    """Run `candor publish`, expect success, return its data.json."""
    result = run_candor("publish", "--store", str(store), "--out", str(out), *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    figures: dict[str, Any] = json.loads((out / "data.json").read_text())
    return figures


@pytest.fixture
def published(known_store: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The known data set published with K = 10: the folder and its data.json."""
    out = tmp_path / "public"
    return out, publish(known_store, out, "--min-installations", str(K))
