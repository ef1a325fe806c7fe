"""What the audit reads in a request: bodies decoded into events, canaries found in any form."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import urllib.parse

import pytest

from candor.audit.canaries import find
from candor.audit.endpoint import Request
from candor.audit.payload import decode

TOKEN = "canaryenv0a1b2c3d"
PLACES = {"the environment variable API_TOKEN": TOKEN}


def request(body: bytes, headers: list[tuple[str, str]] | None = None) -> Request:
    return Request("run", "127.0.0.1:1", "POST", "/v1/event", headers or [], body)


@pytest.mark.parametrize(
    ("body", "headers", "count"),
    [
        (b'{"a": 1}', [], 1),
        (b'[{"a": 1}, {"a": 2}]', [], 2),
        (b'{"a": 1}\n{"a": 2}\n', [], 2),
        (gzip.compress(b'[{"a": 1}, {"a": 2}, {"a": 3}]'), [("Content-Encoding", "gzip")], 3),
        (gzip.compress(b'{"a": 1}'), [], 1),  # gzip magic without the header
    ],
    ids=["object", "array", "json-lines", "gzip", "gzip-magic"],
)
def test_bodies_decode_into_events(body: bytes, headers: list[tuple[str, str]], count: int) -> None:
    decoded = decode(request(body, headers))
    assert decoded.problem is None and len(decoded.events) == count


def test_an_unreadable_body_is_a_problem_not_silence() -> None:
    assert "not JSON" in (decode(request(b"name=value&x=1")).problem or "")
    assert "does not decode" in (
        decode(request(b"not gzip", [("Content-Encoding", "gzip")])).problem or ""
    )


@pytest.mark.parametrize(
    "data",
    [
        TOKEN.encode(),
        gzip.compress(json.dumps({"env": TOKEN}).encode()),
        urllib.parse.quote(f"/v1/event?e={TOKEN}!", safe="").encode(),
        json.dumps({"env": TOKEN}, ensure_ascii=True).replace("c", "\\u0063").encode(),
        base64.b64encode(f"x{TOKEN}y".encode()),
        TOKEN.encode().hex().encode(),
        hashlib.sha256(TOKEN.encode()).hexdigest().encode(),
        hashlib.md5(TOKEN.encode()).hexdigest().upper().encode(),
    ],
    ids=["raw", "gzip", "percent", "json-escapes", "base64", "hex", "sha256", "md5-upper"],
)
def test_a_canary_is_found_raw_decoded_encoded_or_hashed(data: bytes) -> None:
    found = find(PLACES, "body", data)
    assert len(found) == 1 and "API_TOKEN" in found[0], found


def test_nothing_is_found_where_there_is_no_canary() -> None:
    event = {"command": "init", "installation_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}
    assert find(PLACES, "body", gzip.compress(json.dumps(event).encode())) == []


STRACE_LOG = """\
21 connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file)
21 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
21 sendto(3, "\\31y\\1\\0\\0\\1", 29, MSG_NOSIGNAL, NULL, 0) = 29
22 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), \
inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>
23 sendto(4, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(9), \
sin_addr=inet_addr("192.0.2.1")}, 16) = 1
22 <... connect resumed>) = -1 ENETUNREACH (Network is unreachable)
23 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 6
"""


def test_strace_lines_become_network_attempts() -> None:
    """Inet connects and sends count (refused or not); unix, netlink and plain sends do not."""
    from candor.audit.trace import parse

    found = [(a.pid, a.call, a.address, a.result.split(" (")[0]) for a in parse(STRACE_LOG)]
    assert found == [
        (21, "connect", "127.0.0.1:53", "0"),
        (23, "sendto", "192.0.2.1:9", "1"),
        (22, "connect", "[2001:db8::1]:443", "-1 ENETUNREACH"),
    ]
