"""Pytest fixtures for the ClickHouse store (registered by the root conftest's pytest_plugins).

- `clickhouse_server`: one throwaway clickhouse-server (Debian's 18.16) for the whole session,
  on free loopback ports with its data in a temporary directory; skipped with the reason when
  the package is missing.
- `clickhouse_url`: a fresh database on it for one test (dropped afterwards).
- `chdb_url`: a chDB (ClickHouse's current engine, in process) directory for one test;
  skipped when chdb is not installed (it is in the dev extra).
"""

from __future__ import annotations

import importlib.util
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.support.clickhouse import ClickHouseServer, skip_reason

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clickhouse_url(clickhouse_server: ClickHouseServer) -> Iterator[str]:
    database = f"t_{uuid.uuid4().hex[:12]}"
    yield clickhouse_server.url(database)
    if clickhouse_server.running:
        clickhouse_server.http(f"DROP DATABASE IF EXISTS {database}")


@pytest.fixture
def chdb_url(tmp_path: Path) -> str:
    if importlib.util.find_spec("chdb") is None:
        pytest.skip("chdb is not installed (pip install chdb; it is in candor[dev])")
    return f"chdb://{tmp_path / 'chdb'}"
