"""`candor report`: tables, CSV and JSON from a store file or through a running collector."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.support.collector import start_collector

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    Run = Callable[..., subprocess.CompletedProcess[str]]

RANGE = ("--from", "2025-03-03", "--to", "2025-03-10")


def test_json_has_the_hand_computed_answers(candor: Run, known_file: Path) -> None:
    """--json is the stats API's envelope with the numbers of tests/support/dataset.py."""
    result = candor("report", "--store", str(known_file), *RANGE, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["range"] == {"start": "2025-03-03", "end": "2025-03-10", "days": 8}
    assert report["percentile_method"] == "nearest-rank"
    data = report["data"]
    assert (data["overview"]["events"], data["overview"]["installations"]) == (12, 4)
    assert data["errors"]["top"][0] == {
        "error_code": "auth_expired", "events": 3, "installations": 1, "command": None,
    }  # fmt: skip
    latency = {row["command"]: row for row in data["performance"]["by_command"]}
    assert (latency["deploy"]["p50"], latency["deploy"]["p90"]) == (20, 1000)


def test_terminal_tables_answer_the_policy_questions(candor: Run, known_file: Path) -> None:
    """The default output is titled tables with the counts, readable without SQL."""
    result = candor("report", "--store", str(known_file), *RANGE)
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    for title in ("Which features are most used?", "Where are the performance bottlenecks?",
                  "What are the most common errors?", "Version adoption", "Platforms"):  # fmt: skip
        assert title in out
    errors = out[out.index("What are the most common errors?") :]
    row = next(line for line in errors.splitlines() if "auth_expired" in line)
    # ⊘: the public report would not show it (one installation; candor publish's floor is 10)
    assert [cell.strip() for cell in row.split("│")[1:4]] == ["auth_expired ⊘", "3", "1"]
    assert "nearest-rank" in out and "2025-03-03 to 2025-03-10" in out


def test_csv_table_for_scripts(candor: Run, known_file: Path) -> None:
    """--csv --table NAME prints exactly one CSV table; without --table, every table, named."""
    result = candor("report", "--store", str(known_file), *RANGE, "--csv", "--table", "errors")
    assert result.returncode == 0
    assert result.stdout == (
        "error_code,occurrences,installations\n"
        "auth_expired,3,1\ncompile_error,2,2\nregistry_timeout,1,1\n"
    )
    everything = candor("report", "--store", str(known_file), *RANGE, "--csv").stdout
    assert "# daily_active\nday,active,new\n2025-03-03,2,2\n2025-03-04,2,1\n" in everything
    assert "# commands\n" in everything and "\n# platforms\n" in everything


def test_filters(candor: Run, known_file: Path) -> None:
    """--command build --ci leaves C's one CI build."""
    result = candor("report", "--store", str(known_file), *RANGE, "--command", "build", "--ci",
                    "--section", "overview", "--json")  # fmt: skip
    report = json.loads(result.stdout)
    assert report["filters"] == {"command": "build", "interactive": False}
    assert set(report["data"]) == {"overview"}
    assert (report["data"]["overview"]["events"], report["data"]["overview"]["failures"]) == (1, 1)


def test_busy_store_points_to_the_running_collector(
    candor: Run, known_file: Path, tmp_path: Path
) -> None:
    """While candor serve holds the file: one line saying so; --url/--token read the same data."""
    local = json.loads(candor("report", "--store", str(known_file), *RANGE, "--json").stdout)
    collector = start_collector(tmp_path, store_path=known_file)
    try:
        busy = candor("report", "--store", str(known_file), *RANGE)
        assert busy.returncode == 1
        assert busy.stderr.count("\n") == 1 and "--url" in busy.stderr
        assert "Traceback" not in busy.stderr
        remote = candor("report", "--url", collector.url, "--token", collector.admin_token,
                        *RANGE, "--json")  # fmt: skip
        assert remote.returncode == 0, remote.stderr
        assert json.loads(remote.stdout) == local
        refused = candor("report", "--url", collector.url, "--token", "nope", *RANGE)
        assert refused.returncode == 1 and "refused the admin token" in refused.stderr
    finally:
        collector.stop()


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (("--since", "3y"), 2, "since"),
        (("--from", "2025-03-10", "--to", "2025-03-01"), 2, "before"),
        (("--command", "DROP TABLE"), 2, "command"),
        (("--table", "errors"), 2, "--csv"),
        (("--csv", "--table", "nope"), 2, "no table"),
        (("--url", "http://127.0.0.1:9"), 2, "--token"),
        (("--store", "missing.duckdb"), 1, "no store"),
    ],
)
def test_mistakes_are_one_line(
    candor: Run, known_file: Path, args: tuple[str, ...], status: int, words: str
) -> None:
    """Bad options and missing stores: a one-line reason and a status, never a traceback."""
    store = () if "--store" in args else ("--store", str(known_file))
    result = candor("report", *store, *args, cwd=known_file.parent)
    assert result.returncode == status
    assert words in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


RAW_NAMES = ("installations_failing", "first_day", "error_code", "cli_version", "os_arch")


def header_rows(out: str) -> dict[str, list[str]]:
    """Each table's title → its header cells, from the plain-text report."""
    lines = out.splitlines()
    headers = {}
    for number, line in enumerate(lines):
        if line.startswith("┏"):
            cells = [cell.strip() for cell in lines[number + 1].strip("┃").split("┃")]
            headers[lines[number - 1]] = cells
    return headers


def test_terminal_headers_are_plain_words_and_long_tables_show_their_top(
    candor: Run, tmp_path: Path
) -> None:
    """No field names, no blank header, one line per header and title; the 'p90 by release'
    table shows its top rows (slowdowns first) and says how many more --all shows."""
    store = str(tmp_path / "demo.duckdb")
    assert candor("generate", "--events", "20000", "--days", "20", "--store", store).returncode == 0
    out = candor("report", "--store", store, "--since", "21d").stdout
    headers = header_rows(out)
    assert len(headers) >= 10
    for title, cells in headers.items():
        assert all(cells) and not set(cells) & set(RAW_NAMES), (title, cells)
    releases = next(t for t in headers if t.startswith("p90 by release"))
    table = out[out.index(releases) :]
    rows = table[: table.index("└")].splitlines()[4:]
    footer = table.splitlines()[len(rows) + 5]
    assert len(rows) == 15 and "SLOWER" in rows[0], rows
    hidden = int(footer.split("and ")[1].split()[0])
    assert hidden > 0 and footer.endswith("more rows (candor report --all shows them)")
    everything = candor("report", "--store", store, "--since", "21d", "--all").stdout
    table = everything[everything.index(releases) :]
    assert len(table[: table.index("└")].splitlines()[4:]) == 15 + hidden
    assert "more rows" not in everything


def test_an_empty_range_says_what_to_do(candor: Run, known_file: Path) -> None:
    """Instead of tables of "(none)" alone: a line saying why, and where events come from."""
    out = candor("report", "--store", str(known_file), "--from", "2020-01-01", "--to", "2020-01-02")
    assert out.returncode == 0
    assert "No events in this range" in out.stdout
    assert "YOUR_PLATFORM_TELEMETRY_ENDPOINT=" in out.stdout
