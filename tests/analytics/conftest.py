"""Fixtures for the analytics tests: a real DuckDB store in tmp_path, empty or with known data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.dataset import load_known

if TYPE_CHECKING:
    from candor.storage.base import Store


@pytest.fixture
def known(store: Store) -> Store:
    """The store holding the twelve events of tests.support.dataset."""
    load_known(store)
    return store
