"""`make run`'s walk-through (scripts/demo.py) works end to end on this machine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent


def test_walkthrough_delivers_the_demo_events(tmp_path: Path) -> None:
    """The demo fills a store, runs your-cli against a real collector, and its events land."""
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--once", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "This notice is shown once; this run sent nothing." in out
    assert "Queued events:   0" in out
    assert re.search(r"dashboard:\s+http://127\.0\.0\.1:\d+/", out)
    debug_json = next(line for line in out.splitlines() if line.strip().startswith('{"event_'))
    installation_id = json.loads(debug_json)["installation_id"]

    # The collector has stopped, so the DuckDB file is free to open.
    con = duckdb.connect(str(data / "events.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT command, status, error_code FROM events WHERE installation_id = ?"
        " ORDER BY received_at, command",
        [installation_id],
    ).fetchall()
    con.close()
    # First build: notice only. Then build, deploy, and the failing build; debug sends nothing.
    assert sorted(rows) == [
        ("build", "failure", "invalid_manifest"),
        ("build", "success", None),
        ("deploy", "success", None),
    ]


def walkthrough(data: Path, port: int, cwd: Path) -> str:
    """`make run`'s script once, without a terminal; its whole output."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--once", "--data", str(data),
         "--port", str(port), "--events", "2000"],
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
        stdin=subprocess.DEVNULL,
        env={name: value for name, value in os.environ.items() if name != "CANDOR_ADMIN_TOKEN"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_second_run_keeps_its_port_and_token_and_leaves_one_home(
    tmp_path: Path, free_port: int
) -> None:
    """Run twice: the same port (free again) and token, no ANSI escapes in a log, one HOME."""
    data = tmp_path / "data"
    first = walkthrough(data, free_port, tmp_path)
    second = walkthrough(data, free_port, tmp_path)
    for out in (first, second):
        assert f"listening on http://127.0.0.1:{free_port}" in out
        assert "\033[" not in out
    tokens = [re.search(r"token:\s+(\S+)", out).group(1) for out in (first, second)]  # type: ignore[union-attr]
    assert tokens[0] == tokens[1] and not tokens[0].startswith("-")
    assert (data / "admin-token").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == ["home"]
    assert "sign in: paste the token" in second and ".venv/bin/candor report --url" in second
