"""Every store backend in STORES, each skipped when its library (or server) is not here; each
opened both in the test's process and in a process of its own, as `candor serve` opens it.

A backend joins the contract suites (test_store_contract.py, test_questions_contract.py) with
an entry in URLS (a fresh, empty store per test; a server fixture may fill in the URL) and in
LIBRARIES (the import it needs).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import pytest

from candor.storage import STORES, open_store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from candor.storage.base import Store

# How a test reaches each backend: a URL in tmp_path, or a server it would need.
URLS = {"duckdb": "duckdb://{tmp}/events.duckdb"}
LIBRARIES = {"duckdb": "duckdb"}
# Backends whose location a fixture provides: chDB in tmp_path; a real ClickHouse server
# (Debian's 18.16, tests/support/clickhouse.py) with a fresh database per test.
URL_FIXTURES = {"chdb": "chdb_url", "clickhouse": "clickhouse_url"}


# One scheme per engine: clickhouses:// is clickhouse:// over TLS (tested on its own in
# tests/storage/clickhouse), while chdb:// (ClickHouse's engine in process) and clickhouse:// (a
# real server) share a class but are two engines, both in the suites.
BACKENDS = sorted(s for s in STORES if not (s.endswith("s") and s[:-1] in STORES))


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL per backend (a backend whose library or server is absent is skipped)."""
    scheme = request.param
    if scheme in URL_FIXTURES:
        url: str = request.getfixturevalue(URL_FIXTURES[scheme])
        return url
    if scheme not in URLS:
        pytest.skip(f"no test location for the {scheme} store")
    pytest.importorskip(LIBRARIES[scheme])
    importlib.import_module(STORES[scheme].partition(":")[0])
    return URLS[scheme].format(tmp=tmp_path)


@pytest.fixture(params=["in-process", "store-process"])
def store(request: pytest.FixtureRequest, store_url: str) -> Iterator[Store]:
    """An open store of each backend, closed after the test."""
    opened: Store
    if request.param == "in-process":
        opened = open_store(store_url)
    else:
        from candor.server.store.collector_end import StoreProcess

        opened = StoreProcess(store_url)
    try:
        yield opened
    finally:
        opened.close()
