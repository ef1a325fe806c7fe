"""The sender's TLS and proxy behaviour: a private CA via SSL_CERT_FILE, HTTPS_PROXY, NO_PROXY.

The proxy rule: an https:// endpoint off this machine goes through HTTPS_PROXY (unless
NO_PROXY names it); a loopback endpoint, and any plain http:// one, never goes through a
proxy. A name only the proxy resolves (`collector.test`) stands for a remote collector.
"""

from __future__ import annotations

import os
import ssl
from typing import TYPE_CHECKING

import pytest
import trustme

from candor.client.sender import EXIT_EMPTY, EXIT_PENDING
from tests.client.delivery.harness import fill, numbers_of, run_sender
from tests.client.harness import YOUR, cli_env, run_cli, wait_for_sender
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
    ca.issue_cert("127.0.0.1", "localhost", REMOTE_HOST).configure_cert(context)
    with Sink(tls=context) as server:
        yield server


REMOTE_HOST = "collector.test"  # reserved for tests (RFC 2606): resolved by the proxy alone
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def environment(**variables: str) -> dict[str, str]:
    return {**os.environ, **variables}


def remote_url(sink: Sink) -> str:
    """The sink's endpoint under a name that is not loopback, reachable through the proxy."""
    return f"https://{REMOTE_HOST}:{sink.port}/v1/event"


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
    assert "TLS error: certificate not trusted" in result.stderr
    assert tls_sink.requests == []
    assert spool.stats()["queued"] == 3


def test_https_proxy_is_used(spool: Spool, directory: Path, tls_sink: Sink, ca_file: str) -> None:
    """HTTPS_PROXY routes the POST through a CONNECT tunnel; TLS still ends at the collector."""
    numbers = fill(spool, 2)
    with ConnectProxy(hosts={REMOTE_HOST: "127.0.0.1"}) as proxy:
        env = environment(SSL_CERT_FILE=ca_file, HTTPS_PROXY=proxy.url)
        result = run_sender(directory, remote_url(tls_sink), env=env)
    assert result.returncode == EXIT_EMPTY, result.stderr
    assert proxy.tunnels == [f"{REMOTE_HOST}:{tls_sink.port}"]
    assert numbers_of(tls_sink.events) == numbers


def test_no_proxy_bypasses_the_proxy(
    spool: Spool, directory: Path, tls_sink: Sink, ca_file: str
) -> None:
    """A host listed in NO_PROXY is reached directly even when HTTPS_PROXY is set.

    Directly, the test's remote name does not resolve: the attempt fails, the proxy saw nothing.
    """
    fill(spool, 2)
    with ConnectProxy(hosts={REMOTE_HOST: "127.0.0.1"}) as proxy:
        env = environment(SSL_CERT_FILE=ca_file, HTTPS_PROXY=proxy.url, NO_PROXY=REMOTE_HOST)
        result = run_sender(directory, remote_url(tls_sink), env=env)
    assert result.returncode == EXIT_PENDING, result.stderr
    assert proxy.requests == []
    assert tls_sink.requests == []


def test_plain_http_to_loopback_never_goes_through_a_proxy(
    seeded: Path, sink: Sink, spool: Spool
) -> None:
    """`your-cli` with an http://127.0.0.1 endpoint and every proxy variable set: sent directly."""
    with ConnectProxy() as proxy:
        proxies = dict.fromkeys(PROXY_VARIABLES, proxy.url)
        env = cli_env(seeded, YOUR_PLATFORM_TELEMETRY_ENDPOINT=sink.url, **proxies)
        assert run_cli(YOUR.ok_argv, env, cli=YOUR.kind).returncode == 0
        wait_for_sender(seeded)
    assert [event["command"] for event in sink.events] == ["info"]
    assert proxy.requests == []
    assert spool.stats()["queued"] == 0


def test_https_to_loopback_never_goes_through_a_proxy(
    seeded: Path, tls_sink: Sink, ca_file: str, spool: Spool
) -> None:
    """`your-cli`, an https://127.0.0.1 endpoint and HTTPS_PROXY set: no tunnel, sent directly."""
    with ConnectProxy() as proxy:
        env = cli_env(
            seeded,
            YOUR_PLATFORM_TELEMETRY_ENDPOINT=tls_sink.url,
            SSL_CERT_FILE=ca_file,
            **dict.fromkeys(PROXY_VARIABLES, proxy.url),
        )
        assert run_cli(YOUR.ok_argv, env, cli=YOUR.kind).returncode == 0
        wait_for_sender(seeded)
    assert [event["command"] for event in tls_sink.events] == ["info"]
    assert proxy.requests == []
