"""`candor serve` set-up mistakes: one line naming the problem, before any banner or file."""

from __future__ import annotations

import socket
import subprocess
from typing import TYPE_CHECKING

import httpx
import pytest
import trustme

from candor.server.runtime.settings import Settings
from tests.support.collector import CANDOR, start_collector
from tests.support.load import make_event

if TYPE_CHECKING:
    from pathlib import Path


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`candor serve ARGS` in `tmp_path`, which must end at once with an error."""
    return subprocess.run(
        [CANDOR, "serve", "--store", str(tmp_path / "events.duckdb"), *args],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def assert_refused_up_front(result: subprocess.CompletedProcess[str], tmp_path: Path) -> str:
    """Exit 2, one line on stderr, no banner or token, and no store file created."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("candor serve: "), result.stderr
    assert "collecting at" not in result.stderr and "admin token" not in result.stderr
    assert not (tmp_path / "events.duckdb").exists()
    return lines[0]


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, str]:
    """A certificate, its key, another certificate's key, and a file that is no PEM at all."""
    ca = trustme.CA()
    cert, other = ca.issue_cert("127.0.0.1"), ca.issue_cert("127.0.0.1")
    files = {"cert": cert.cert_chain_pems[0], "key": cert.private_key_pem,
             "other_key": other.private_key_pem}  # fmt: skip
    paths = {}
    for name, blob in files.items():
        paths[name] = str(tmp_path / f"{name}.pem")
        blob.write_to_path(paths[name])
    paths["junk"] = str(tmp_path / "junk.pem")
    (tmp_path / "junk.pem").write_text("this is no certificate\n")
    return paths


@pytest.mark.parametrize(
    ("cert", "key", "problem"),
    [
        ("junk", "key", "--tls-cert {junk}: not a PEM file"),
        ("key", "key", "--tls-cert {key}: not a PEM file"),
        ("cert", "junk", "--tls-key {junk}: not a PEM file"),
        ("cert", "other_key", "--tls-key {other_key} does not match the certificate {cert}"),
    ],
)
def test_unusable_tls_files_are_named_before_the_banner(
    tmp_path: Path, tls_files: dict[str, str], cert: str, key: str, problem: str
) -> None:
    """A cert or key that is no PEM, or a key of another certificate: the file and why."""
    result = serve(tmp_path, "--tls-cert", tls_files[cert], "--tls-key", tls_files[key])
    line = assert_refused_up_front(result, tmp_path)
    assert problem.format(**tls_files) in line


def test_a_memory_limit_below_the_floor_is_refused_naming_it(tmp_path: Path) -> None:
    """--memory-limit 1KB (or via CANDOR_MEMORY_LIMIT) names the least the store needs."""
    line = assert_refused_up_front(serve(tmp_path, "--memory-limit", "1KB"), tmp_path)
    assert "--memory-limit 1KB is below the 16MB" in line


def test_the_store_works_at_the_memory_floor(tmp_path: Path) -> None:
    """At the floor itself the collector stores an event and answers the dashboard's summary."""
    collector = start_collector(tmp_path, extra_args=("--memory-limit", "16MB"))
    try:
        assert httpx.post(collector.event_url, json=make_event()).status_code == 202
        summary = httpx.get(
            f"{collector.url}/v1/stats/summary",
            headers={"Authorization": f"Bearer {collector.admin_token}"},
            timeout=30,
        )
        assert summary.status_code == 200, summary.text
        assert summary.json()["data"]["overview"]["events"] == 1
    finally:
        assert collector.stop() == 0


def test_a_port_in_use_is_one_line_naming_it_and_creates_nothing(tmp_path: Path) -> None:
    """Bind first: the address in plain words, no banner, no store file left behind."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(tmp_path, "--port", str(port))
    line = assert_refused_up_front(result, tmp_path)
    assert f"127.0.0.1:{port}: address already in use" in line


def test_an_unresolvable_host_is_one_line(tmp_path: Path) -> None:
    """A --host that does not resolve is named, before anything is created."""
    line = assert_refused_up_front(serve(tmp_path, "--host", "no-such-host.invalid"), tmp_path)
    assert "--host no-such-host.invalid: cannot resolve it" in line


def test_generated_admin_tokens_never_start_with_a_dash() -> None:
    """A token starting with '-' would read as a flag in `candor report --token TOKEN`."""
    tokens = [Settings.from_environ({}).admin_token for _ in range(3000)]
    assert len(set(tokens)) == len(tokens)
    assert [token for token in tokens if token.startswith("-")] == []
