"""`candor prune` never deletes silently: it counts, and on a terminal asks before most go."""

from __future__ import annotations

import os
import pty
import subprocess
from typing import TYPE_CHECKING

import duckdb

from tests.cli.conftest import CANDOR, RUN_TIMEOUT_S

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Run = Callable[..., subprocess.CompletedProcess[str]]


def count(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        ((events,),) = con.execute("SELECT count(*) FROM events").fetchall()
    return int(events)


def prune_on_a_terminal(*args: str, answer: str) -> subprocess.CompletedProcess[str]:
    """`candor prune ARGS` with a terminal as its stdin, on which `answer` is typed."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        return subprocess.run(
            [CANDOR, "prune", *args], stdin=terminal, capture_output=True, text=True,
            timeout=RUN_TIMEOUT_S, check=False,
        )  # fmt: skip
    finally:
        os.close(terminal)
        os.close(controller)


def test_a_retention_of_1m_is_refused_and_deletes_nothing(candor: Run, known_file: Path) -> None:
    """`1m` is ambiguous (a minute? a month?): a usage error with both spellings, no deletion."""
    result = candor("prune", "--store", str(known_file), "--retention", "1m")
    assert result.returncode == 2
    assert "'1m' is ambiguous: write 1min for minutes, or 30d for 1 month" in result.stderr
    assert (
        "under one day" in candor("prune", "--store", str(known_file), "--retention", "6h").stderr
    )
    assert count(known_file) == 12


def test_on_a_terminal_it_asks_before_deleting_more_than_half(known_file: Path) -> None:
    """8 of 12 would go: the question names both numbers; 'n' keeps all and exits 1."""
    result = prune_on_a_terminal("--store", str(known_file), "--before", "2025-03-10", answer="n\n")
    assert "delete 8 of the 12 events" in result.stderr and "[y/N]" in result.stderr
    assert result.returncode == 1 and "nothing deleted; all 12 events kept" in result.stderr
    assert count(known_file) == 12
    result = prune_on_a_terminal("--store", str(known_file), "--before", "2025-03-10", answer="y\n")
    assert result.returncode == 0, result.stderr
    assert "deleted 8 events received before 2025-03-10 00:00 UTC; 4 remain" in result.stdout
    assert count(known_file) == 4


def test_yes_or_no_terminal_deletes_without_asking_and_says_how_many(
    candor: Run, known_file: Path
) -> None:
    """--yes skips the question on a terminal; a script (no terminal) is never asked."""
    result = prune_on_a_terminal(
        "--store", str(known_file), "--before", "2025-03-09", "--yes", answer=""
    )
    assert result.returncode == 0 and "[y/N]" not in result.stderr
    assert "deleted 8 events" in result.stdout and "; 4 remain" in result.stdout
    result = candor("prune", "--store", str(known_file), "--before", "2025-03-11")
    assert result.returncode == 0 and "[y/N]" not in result.stderr
    assert "deleted 4 events" in result.stdout and "; 0 remain" in result.stdout
    assert count(known_file) == 0


def test_dry_run_says_how_many_of_how_many(candor: Run, known_file: Path) -> None:
    result = candor("prune", "--store", str(known_file), "--before", "2025-03-10", "--dry-run")
    assert "would delete 8 events received before 2025-03-10 00:00 UTC; 4 would remain" in (
        result.stdout
    )
    assert count(known_file) == 12
