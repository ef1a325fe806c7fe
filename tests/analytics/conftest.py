"""Fixtures for the analytics tests: a real DuckDB store in tmp_path, empty or with known data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from candor.storage import open_store
from tests.support.dataset import load_known

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from candor.storage.base import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty DuckDB store in tmp_path, closed after the test."""
    opened = open_store(str(tmp_path / "events.duckdb"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def known(store: Store) -> Store:
    """The store holding the twelve events of tests.support.dataset."""
    load_known(store)
    return store
