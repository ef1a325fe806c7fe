"""The sender's TLS and proxy behaviour: a private CA via SSL_CERT_FILE, HTTPS_PROXY, NO_PROXY."""

from __future__ import annotations

import os
import ssl
from typing import TYPE_CHECKING

import pytest
import trustme

from candor.client.sender import EXIT_EMPTY, EXIT_PENDING
from tests.client.delivery.harness import fill, numbers_of, run_sender
from tests.support.proxy import ConnectProxy
from tests.support.sink import Sink

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from candor.client.spool import Spool


@pytest.fixture
def ca() -> trustme.CA:
    """A throw-away private certificate authority."""
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """The private CA's certificate as a PEM file, for SSL_CERT_FILE."""
    path = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_sink(ca: trustme.CA) -> Iterator[Sink]:
    """The sink over HTTPS, with a certificate for 127.0.0.1 signed by the private CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with Sink(tls=context) as server:
        yield server


def environment(**variables: str) -> dict[str, str]:
    return {**os.environ, **variables}


def test_private_ca_via_ssl_cert_file(
    spool: Spool, directory: Path, tls_sink: Sink, ca_file: str
) -> None:
    """With SSL_CERT_FILE naming the private CA, delivery over verified TLS succeeds."""
    numbers = fill(spool, 3)
    result = run_sender(directory, tls_sink.url, env=environment(SSL_CERT_FILE=ca_file))
    assert result.returncode == EXIT_EMPTY, result.stderr
    assert numbers_of(tls_sink.events) == numbers


def test_unverifiable_certificate_is_refused(spool: Spool, directory: Path, tls_sink: Sink) -> None:
    """Without the CA the certificate does not verify: nothing is sent, the events stay."""
    fill(spool, 3)
    result = run_sender(directory, tls_sink.url)
    assert result.returncode == EXIT_PENDING
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert tls_sink.requests == []
    assert spool.stats()["queued"] == 3


def test_https_proxy_is_used(spool: Spool, directory: Path, tls_sink: Sink, ca_file: str) -> None:
    """HTTPS_PROXY routes the POST through a CONNECT tunnel; TLS still ends at the collector."""
    numbers = fill(spool, 2)
    with ConnectProxy() as proxy:
        env = environment(SSL_CERT_FILE=ca_file, HTTPS_PROXY=proxy.url)
        result = run_sender(directory, tls_sink.url, env=env)
    assert result.returncode == EXIT_EMPTY, result.stderr
    assert proxy.tunnels == [f"127.0.0.1:{tls_sink.port}"]
    assert numbers_of(tls_sink.events) == numbers


def test_no_proxy_bypasses_the_proxy(
    spool: Spool, directory: Path, tls_sink: Sink, ca_file: str
) -> None:
    """A host listed in NO_PROXY is reached directly even when HTTPS_PROXY is set."""
    numbers = fill(spool, 2)
    with ConnectProxy() as proxy:
        env = environment(SSL_CERT_FILE=ca_file, HTTPS_PROXY=proxy.url, NO_PROXY="127.0.0.1")
        result = run_sender(directory, tls_sink.url, env=env)
    assert result.returncode == EXIT_EMPTY, result.stderr
    assert proxy.tunnels == []
    assert numbers_of(tls_sink.events) == numbers
