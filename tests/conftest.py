"""Fixtures every test may use: a scrubbed environment, a temporary HOME and free ports.

Part-specific fixtures live in the conftest.py of each test folder; the servers and processes
they start are in tests/support/.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from candor.storage.base import Store

# The ClickHouse store's servers and fixtures (clickhouse_server, clickhouse_url, chdb_url).
pytest_plugins = ["tests.support.clickhouse_fixtures"]

# Variables that would change what telemetry does, or where traffic goes, if the developer's
# or CI's own environment leaked into a test.
SCRUBBED_PREFIXES = ("YOUR_PLATFORM_", "CANDOR_")
SCRUBBED_NAMES = {
    "DO_NOT_TRACK", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
    "https_proxy", "all_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
}  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scrub CI, Do-Not-Track, telemetry, proxy and TLS variables from every test."""
    from candor.schema import CI_VARIABLES

    for name in list(os.environ):
        if (
            name in SCRUBBED_NAMES
            or name in CI_VARIABLES
            or name.startswith(SCRUBBED_PREFIXES)
            or "_TELEMETRY_" in name
        ):
            monkeypatch.delenv(name)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty HOME for the test and every process it starts."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def free_port() -> int:
    """A free loopback port (bind 127.0.0.1 only)."""
    return unused_port()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty DuckDB store (the default embedded one) in tmp_path, closed after the test."""
    from candor.storage import open_store  # the server extra: loaded only by tests that use it

    opened = open_store(str(tmp_path / "events.duckdb"))
    try:
        yield opened
    finally:
        opened.close()
