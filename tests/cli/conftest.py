"""Fixtures for the `candor` subcommand tests: the real console script on real store files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from candor.storage import open_store
from tests.support.dataset import load_known

if TYPE_CHECKING:
    from collections.abc import Callable

CANDOR = str(Path(sys.executable).with_name("candor"))
RUN_TIMEOUT_S = 120  # generous for a loaded 2-core machine; a hang still fails


def run_candor(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`candor ARGS…` as a subprocess (no terminal): its exit status, stdout and stderr as text."""
    return subprocess.run(
        [CANDOR, *args], capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
        cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def candor() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real `candor` script."""
    return run_candor


@pytest.fixture
def known_file(tmp_path: Path) -> Path:
    """A closed DuckDB file holding the twelve events of tests.support.dataset."""
    path = tmp_path / "known.duckdb"
    store = open_store(str(path))
    try:
        load_known(store)
    finally:
        store.close()
    return path
