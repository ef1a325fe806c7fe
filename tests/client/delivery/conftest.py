"""Fixtures for the delivery tests: the sink, a spool directory and its Spool."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from candor.client.spool import Spool
from tests.support.sink import Sink

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A collector stand-in on 127.0.0.1, answering 202 until told otherwise."""
    with Sink() as server:
        yield server


@pytest.fixture
def directory(home: Path) -> Path:
    """The platform's config directory inside a temporary HOME (not created yet)."""
    return home / ".your-platform"


@pytest.fixture
def spool(directory: Path) -> Spool:
    """The spool of that directory."""
    return Spool(str(directory))
