"""Fixtures for in-process collector tests: the real app over a real DuckDB file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from starlette.testclient import TestClient

from candor.server.http.app import create_app
from candor.server.runtime.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from candor.storage.base import Store

TEST_TOKEN = "test-admin-token"


@pytest.fixture
def make_client(store: Store) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient over create_app(Settings from `environ`, store); lifespan included."""
    clients: list[TestClient] = []

    def make(environ: dict[str, str] | None = None) -> TestClient:
        settings = Settings.from_environ({"CANDOR_ADMIN_TOKEN": TEST_TOKEN, **(environ or {})})
        client = TestClient(create_app(settings, store), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A TestClient over the collector with default settings."""
    return make_client()
