"""`candor serve` as an operator runs it: what it prints, how it stops, how it refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.collector import CANDOR, CollectorFailed, start_collector
from tests.support.load import make_event


def run_serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CANDOR, "serve", *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def test_announces_where_it_listens_and_the_generated_token(tmp_path: Path) -> None:
    """On start it prints the endpoint, the store and the dashboard URL + a fresh admin token."""
    collector = start_collector(tmp_path, env={"CANDOR_ADMIN_TOKEN": ""})
    assert collector.stop() == 0
    log = collector.log_text()
    assert f"collecting at {collector.event_url}" in log
    assert f"store duckdb://{collector.store_path}" in log
    assert f"dashboard {collector.url}/" in log
    token_lines = [line for line in log.splitlines() if "admin token" in line]
    assert len(token_lines) == 1
    token = token_lines[0].split("admin token ")[1].split()[0]
    assert len(token) >= 32


def test_a_set_admin_token_is_not_printed(tmp_path: Path) -> None:
    """CANDOR_ADMIN_TOKEN is used as it is and never echoed."""
    collector = start_collector(tmp_path, env={"CANDOR_ADMIN_TOKEN": "s3cret-token-value"})
    assert collector.stop() == 0
    assert "s3cret-token-value" not in collector.log_text()
    assert "admin token from CANDOR_ADMIN_TOKEN" in collector.log_text()


def test_sigterm_exits_zero_and_leaves_the_store_checkpointed(tmp_path: Path) -> None:
    """SIGTERM: exit 0, the store closed cleanly (no WAL left), events readable afterwards."""
    collector = start_collector(tmp_path)
    answer = httpx.post(collector.event_url, json=make_event())
    assert answer.status_code == 202
    assert collector.stop() == 0
    assert not Path(f"{collector.store_path}.wal").exists()
    assert collector.store_rows("SELECT count(*) FROM events") == [(1,)]


def test_a_store_in_use_is_refused_with_one_line(tmp_path: Path) -> None:
    """A second collector on the same DuckDB file exits 1 and says why, without a traceback."""
    first = start_collector(tmp_path)
    try:
        with pytest.raises(CollectorFailed) as failure:
            start_collector(tmp_path, store_path=first.store_path, name="second")
    finally:
        first.stop()
    message = str(failure.value)
    assert "exited with status 1" in message
    assert "is open in another process" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--retention", "soon"), "retention 'soon'"),
        (("--tls-cert", "x.pem"), "--tls-cert and --tls-key go together"),
        (("--port", "70000"), "port 70000"),
        (("--store", "mysql://db/x"), "unknown store scheme 'mysql'"),
    ],
)
def test_bad_options_are_one_line_errors(
    tmp_path: Path, args: tuple[str, ...], reason: str
) -> None:
    """Unusable options exit non-zero with a one-line reason and no traceback."""
    result = run_serve(*args, cwd=tmp_path)
    assert result.returncode in (1, 2)
    assert reason in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_options() -> None:
    """`candor serve --help` documents every flag of the issue."""
    result = subprocess.run(
        [sys.executable, "-m", "candor", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for flag in ("--host", "--port", "--store", "--tls-cert", "--tls-key", "--retention"):
        assert flag in result.stdout
