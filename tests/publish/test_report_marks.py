"""`candor report` marks the rows the public report would hide (terminal and JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.cli.conftest import run_candor

if TYPE_CHECKING:
    from pathlib import Path


def rows_of(out: str, title: str) -> dict[str, list[str]]:
    """The cells of a rich table's rows, by their first cell."""
    section = out[out.index(title) :]
    section = section[: section.index("└")]
    rows = [line.split("│")[1:-1] for line in section.splitlines() if line.startswith("│")]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows}


def test_the_terminal_tables_mark_what_publish_would_hide(known_store: Path) -> None:
    """deploy, lint and init (K = 10) carry ⊘ after their names; build and test do not."""
    result = run_candor("report", "--store", str(known_store), "--since", "90d")
    assert result.returncode == 0, result.stderr
    assert "⊘ would not be in the public report (candor publish, K = 10)" in result.stdout
    commands = rows_of(result.stdout, "Which features are most used?")
    assert sorted(commands) == ["build", "deploy ⊘", "init ⊘", "lint ⊘", "test"]
    errors = rows_of(result.stdout, "What are the most common errors?")
    assert {"auth_expired ⊘", "timeout ⊘", "compile_error"} <= set(errors)


def test_json_carries_the_marks_and_csv_is_unchanged(known_store: Path) -> None:
    """--json has a top-level "public"; --csv tables keep their columns."""
    result = run_candor("report", "--store", str(known_store), "--since", "90d", "--json")
    report = json.loads(result.stdout)
    assert report["public"]["min_installations"] == 10
    assert sorted(report["public"]["hidden"]["commands"]) == ["deploy", "init", "lint"]
    csv = run_candor("report", "--store", str(known_store), "--since", "90d", "--csv",
                     "--table", "commands").stdout  # fmt: skip
    assert csv.startswith("command,") and "public" not in csv.splitlines()[0]
