"""The client's address is never stored, logged or written anywhere by a real collector."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import httpx

from tests.support.collector import start_collector
from tests.support.load import make_event

if TYPE_CHECKING:
    from pathlib import Path

# Linux routes all of 127.0.0.0/8 to loopback: the test client binds this source address, so
# any trace of it is the client's and cannot be confused with the server's own 127.0.0.1.
CLIENT_ADDRESS = "127.83.41.7"


def client() -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=CLIENT_ADDRESS), timeout=30)


def raw_request(port: int, data: bytes) -> bytes:
    """Send raw bytes from CLIENT_ADDRESS (for protocol errors httpx will not produce)."""
    with socket.socket() as sock:
        sock.bind((CLIENT_ADDRESS, 0))
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_no_trace_of_the_client_address_in_logs_or_store(tmp_path: Path) -> None:
    """Valid, invalid, malformed, throttled and garbled requests at debug level leave no address."""
    collector = start_collector(
        tmp_path, extra_args=("--log-level", "debug", "--rate-limit", "1", "--rate-burst", "8")
    )
    statuses = set()
    try:
        with client() as http:
            bodies = [
                [make_event()],
                [make_event(), {**make_event(), "ip": CLIENT_ADDRESS}],
                {**make_event(), "hostname": CLIENT_ADDRESS},
            ]
            for body in bodies:
                statuses.add(http.post(collector.event_url, json=body).status_code)
            statuses.add(
                http.post(
                    collector.event_url,
                    content=b"{not json",
                    headers={"content-type": "application/json"},
                ).status_code
            )
            statuses.add(http.post(collector.event_url, content=b"x").status_code)  # 415
            for _ in range(10):  # the burst of 8 runs out: 429s
                statuses.add(http.post(collector.event_url, json=make_event()).status_code)
        assert raw_request(collector.port, b"GARBAGE / HTTP/9\r\n\r\n").startswith(b"HTTP/1.1 400")
        # X-Forwarded-For is not read: the collector never learns this address either way.
        with client() as http:
            http.get(f"{collector.url}/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    finally:
        assert collector.stop() == 0
    assert {202, 400, 415, 429} <= statuses
    log = collector.log_text()
    assert "Invalid HTTP request" in log  # uvicorn did log the protocol error...
    assert CLIENT_ADDRESS not in log  # ...without the address
    assert "203.0.113.9" not in log
    for path in collector.store_path.parent.glob(f"{collector.store_path.name}*"):
        assert CLIENT_ADDRESS.encode() not in path.read_bytes()
    tables = collector.store_rows("SELECT table_name FROM information_schema.tables")
    dump = "".join(str(collector.store_rows(f"SELECT * FROM {name}")) for (name,) in tables)
    assert CLIENT_ADDRESS not in dump
    events = collector.store_rows("SELECT count(*) FROM events")
    assert events[0][0] >= 2  # the valid ones were stored; the ones with ip/hostname were not
