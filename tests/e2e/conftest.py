"""Fixtures for end-to-end tests: a real `candor serve` process on 127.0.0.1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.collector import Collector, start_collector

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """A running collector with its store in tmp_path, stopped (SIGTERM) after the test."""
    running = start_collector(tmp_path)
    try:
        yield running
    finally:
        if running.running:
            running.stop()
