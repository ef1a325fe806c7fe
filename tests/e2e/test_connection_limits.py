"""One unauthenticated connection cannot grow a real `candor serve` without bound.

Each test sends a bounded load that plain uvicorn would buffer in full, and reads the
collector's resident memory from /proc/PID/status before and after. The socket timeouts only
end a test that failed (the collector kept reading or kept the connection): none is a wait.
"""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from candor.server.runtime.http_protocol import MAX_CONCURRENCY, MAX_HEADER_BYTES, MAX_PIPELINED

if TYPE_CHECKING:
    from tests.support.collector import Collector

MB = 1024 * 1024
HEADER_LOAD = 64 * MB  # plain uvicorn keeps all of it
PIPELINED = 50_000  # GETs sent at once on one connection, their answers never read
MEMORY_SLACK = 32 * MB  # what the collector may grow by while refusing a load
GIVE_UP_S = 60.0  # ends a failed test; a passing one is refused long before
GET = b"GET /healthz HTTP/1.1\r\nHost: collector\r\n\r\n"


def rss(pid: int) -> int:
    """Resident memory of process `pid`, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def connect(collector: Collector) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", collector.port), timeout=GIVE_UP_S)
    return sock


def send_until_refused(sock: socket.socket, first: bytes, chunk: bytes, total: int) -> int:
    """Send `first`, then `chunk` until `total` bytes or the collector closes; bytes sent."""
    sent = 0
    try:
        sock.sendall(first)
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def read_all(sock: socket.socket) -> bytes:
    """Everything the collector sends until it closes (a reset ends it too)."""
    chunks: list[bytes] = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def read_one(sock: socket.socket) -> bytes:
    """One whole response (its head, then Content-Length bytes of body), and no more."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(1)
    head = data.lower()
    length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
    while len(data) < len(head) + length:
        data += sock.recv(len(head) + length - len(data))
    return data


def assert_healthy(collector: Collector) -> None:
    with httpx.Client(timeout=30) as http:
        assert http.get(f"{collector.url}/healthz").status_code == 200


def test_a_header_that_never_ends_is_refused_early(collector: Collector) -> None:
    """Headers past the limit get a 431 and a closed connection, not the collector's memory."""
    before = rss(collector.process.pid)
    with connect(collector) as sock:
        start = b"GET /healthz HTTP/1.1\r\nHost: collector\r\nX-Endless: "
        sent = send_until_refused(sock, start, b"a" * 65536, HEADER_LOAD)
        answer = read_all(sock)
    assert sent < HEADER_LOAD, "the collector read 64 MB of one header"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert rss(collector.process.pid) - before < MEMORY_SLACK
    assert_healthy(collector)


def test_a_long_url_counts_as_header(collector: Collector) -> None:
    """A request line longer than the header limit is refused the same way."""
    with connect(collector) as sock:
        sent = send_until_refused(sock, b"GET /", b"x" * 65536, HEADER_LOAD)
        answer = read_all(sock)
    assert sent < HEADER_LOAD
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert_healthy(collector)


def test_headers_just_under_the_limit_are_served(collector: Collector) -> None:
    """The limit leaves room for any real client: headers near it are still answered."""
    padding = "a" * (MAX_HEADER_BYTES - 1024)
    with httpx.Client(timeout=30) as http:
        answer = http.get(f"{collector.url}/healthz", headers={"X-Padding": padding})
    assert answer.status_code == 200


def test_pipelined_requests_never_read_are_cut_off(collector: Collector) -> None:
    """Pipelining far ahead of the answers closes the connection; memory stays as it was."""
    before = rss(collector.process.pid)
    with connect(collector) as sock:
        send_until_refused(sock, b"", GET * 1000, len(GET) * PIPELINED)
        answered = read_all(sock).count(b"HTTP/1.1 200 ")
    assert answered <= MAX_PIPELINED + 1, f"{answered} of {PIPELINED} pipelined GETs answered"
    assert rss(collector.process.pid) - before < MEMORY_SLACK
    assert_healthy(collector)


def test_a_few_pipelined_requests_are_all_answered(collector: Collector) -> None:
    """Pipelining within the bound is still served in order, every answer sent."""
    with connect(collector) as sock:
        last = b"GET /healthz HTTP/1.1\r\nHost: collector\r\nConnection: close\r\n\r\n"
        sock.sendall(GET * 9 + last)
        answers = read_all(sock)
    assert answers.count(b"HTTP/1.1 200 ") == 10


def test_headers_that_stop_half_way_time_out(collector: Collector) -> None:
    """A client that never finishes its headers is answered 408 and closed."""
    with connect(collector) as sock:
        sock.sendall(b"POST /v1/event HTTP/1.1\r\nHost: collector\r\n")
        answer = read_all(sock)  # returns once the collector closes
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"error": "request_timeout"' in answer


def test_connections_past_the_limit_get_503(collector: Collector) -> None:
    """With MAX_CONCURRENCY connections open, one more request is refused, then served again."""
    held = [connect(collector) for _ in range(MAX_CONCURRENCY)]
    try:
        with connect(collector) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: collector\r\nConnection: close\r\n\r\n")
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
    finally:
        for sock in held:
            sock.close()
    assert_healthy(collector)


def test_a_second_request_that_stops_half_way_times_out(collector: Collector) -> None:
    """On a kept-alive connection too: after one answered request, a second one whose headers
    stop half-way is answered 408 (its timer starts with its own first packet)."""
    with connect(collector) as sock:
        sock.sendall(GET)
        first = read_one(sock)
        assert first.startswith(b"HTTP/1.1 200 "), first[:200]
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: coll")
        answer = read_all(sock)  # returns once the collector closes
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_body_that_stops_half_way_times_out(collector: Collector) -> None:
    """A client that sends its headers, then less body than it announced, is answered 408 and
    closed instead of holding a connection slot forever."""
    with connect(collector) as sock:
        sock.sendall(
            b"POST /v1/event HTTP/1.1\r\nHost: collector\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"
        )
        answer = read_all(sock)  # returns once the collector closes
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert json.loads(body)["error"] == "request_timeout"
    assert_healthy(collector)


def test_the_answer_past_the_connection_limit_is_json(collector: Collector) -> None:
    """The 503 past MAX_CONCURRENCY has the JSON shape of every other error, and Retry-After."""
    held = [connect(collector) for _ in range(MAX_CONCURRENCY)]
    try:
        with connect(collector) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: collector\r\nConnection: close\r\n\r\n")
            answer = read_all(sock)
    finally:
        for sock in held:
            sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 "), answer[:200]
    assert b"content-type: application/json" in head.lower()
    assert b"retry-after: 1" in head.lower()
    assert json.loads(body)["error"] == "unavailable"


def test_malformed_http_gets_a_json_400(collector: Collector) -> None:
    """A request that is not HTTP gets the collector's JSON error, not plain text."""
    with connect(collector) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in head.lower()
    assert b'"error": "malformed_request"' in body
