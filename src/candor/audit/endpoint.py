"""The recording listeners inside the sandbox: the capture endpoint and the DNS recorder.

`CaptureEndpoint` is a plain HTTP server that records every connection and every request
(method, target, headers, raw body) under the label of the run in progress. It answers like a
Candor collector (202 with an `accepted` count), or, in "hang" mode, reads the request and never
answers, holding the connection until the run is over. `DnsRecorder` answers every query on
port 53 of its address with NXDOMAIN and records the name asked: with resolv.conf pointing at
it, every DNS lookup the program makes inside the namespace lands here and goes nowhere else.
Both run in daemon threads of the audit process, which lives in the program's namespace.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Any

ACCEPTED_STATUS = 202
MAX_BODY = 4 * 1024 * 1024  # more than any telemetry request; a larger one is cut, not stored
HEADER_LIMIT = 64 * 1024


class Request:
    """One HTTP request as it reached a listener, byte for byte where it matters."""

    __slots__ = ("address", "body", "headers", "method", "run", "target")

    def __init__(
        self,
        run: str,
        address: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        self.run = run
        self.address = address  # the listener's own address:port (where it was sent)
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "to": self.address,
            "method": self.method,
            "target": self.target,
            "headers": [list(item) for item in self.headers],
            "body_bytes": len(self.body),
        }


class Listener:
    """Record what reaches one TCP address; the base of the capture endpoint."""

    def __init__(self, host: str, port: int = 0) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((host, port))
        self._server.listen(64)
        self.host, self.port = self._server.getsockname()[:2]
        self.run = ""  # the label of the run in progress, set by the runner
        self.mode = "accept"  # or "hang"
        self.connections: list[tuple[str, float]] = []  # (run label, time)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._release = threading.Event()  # set: hanging handlers give up their connection
        self._open: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._serve, name=f"listener-{self.port}", daemon=True).start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start_run(self, label: str, mode: str = "accept") -> None:
        """Label what arrives from now on; "hang" makes the next requests wait forever."""
        self.release()
        with self._lock:
            self.run, self.mode = label, mode
            self._release = threading.Event()

    def release(self) -> None:
        """Close every connection a hanging request holds (end of a run)."""
        self._release.set()
        with self._lock:
            held = list(self._open)
        for conn in held:
            _close(conn)

    def requests_of(self, label: str) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if request.run == label]

    def connections_of(self, label: str) -> int:
        with self._lock:
            return sum(1 for run, _ in self.connections if run == label)

    def close(self) -> None:
        self._closed = True
        self.release()
        _close(self._server)

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self.connections.append((self.run, time.monotonic()))
                self._open.add(conn)
                run, mode, release = self.run, self.mode, self._release
            threading.Thread(
                target=self._handle, args=(conn, run, mode, release), daemon=True
            ).start()

    def _handle(self, conn: socket.socket, run: str, mode: str, release: threading.Event) -> None:
        try:
            conn.settimeout(10.0)
            reader = conn.makefile("rb")
            while not self._closed:
                request = _read_request(reader, run, self.address)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                if mode == "hang":
                    release.wait()
                    return
                count = _event_count(request.body)
                answer = f'{{"accepted":{count},"rejected":0}}'.encode()
                conn.sendall(
                    b"HTTP/1.1 %d Accepted\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (ACCEPTED_STATUS, len(answer), answer)
                )
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._open.discard(conn)
            _close(conn)


class CaptureEndpoint(Listener):
    """The endpoint the program is pointed at: http://127.0.0.1:PORT/v1/event."""

    def url(self, path: str = "/v1/event") -> str:
        return f"http://{self.host}:{self.port}{path}"


def _read_request(reader: Any, run: str, address: str) -> Request | None:
    line = reader.readline(HEADER_LIMIT)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) < 2:
        return Request(run, address, "?", line.decode("latin-1").strip(), [], b"")
    method, target = parts[0], parts[1]
    headers: list[tuple[str, str]] = []
    size = 0
    while True:
        raw = reader.readline(HEADER_LIMIT)
        size += len(raw)
        if not raw or raw in (b"\r\n", b"\n") or size > HEADER_LIMIT:
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    values = {name.lower(): value for name, value in headers}
    if "chunked" in values.get("transfer-encoding", "").lower():
        body = _read_chunked(reader)
    else:
        length = int(values.get("content-length") or 0)
        body = reader.read(min(length, MAX_BODY)) if length > 0 else b""
    return Request(run, address, method, target, headers, body)


def _read_chunked(reader: Any) -> bytes:
    body = b""
    while len(body) < MAX_BODY:
        size_line = reader.readline(HEADER_LIMIT)
        if not size_line:
            break
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            reader.readline(HEADER_LIMIT)
            break
        body += reader.read(size)
        reader.readline(HEADER_LIMIT)
    return body


def _event_count(body: bytes) -> int:
    """How many events a body holds, for the answer (a JSON array's length, else 1)."""
    import gzip
    import json

    try:
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        value = json.loads(body)
    except (ValueError, OSError, EOFError):
        return 1
    return len(value) if isinstance(value, list) else 1


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class DnsRecorder:
    """A DNS server on HOST:53 (UDP and TCP) that answers NXDOMAIN and records each query."""

    def __init__(self, host: str = "127.0.0.1", port: int = 53) -> None:
        self.run = ""
        self.queries: list[tuple[str, str]] = []  # (run label, name)
        self._lock = threading.Lock()
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((host, port))
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind((host, port))
        self._tcp.listen(16)
        self._closed = False
        threading.Thread(target=self._serve_udp, name="dns-udp", daemon=True).start()
        threading.Thread(target=self._serve_tcp, name="dns-tcp", daemon=True).start()

    def queries_of(self, label: str) -> list[str]:
        with self._lock:
            return [name for run, name in self.queries if run == label]

    def close(self) -> None:
        self._closed = True
        _close(self._udp)
        _close(self._tcp)

    def _answer(self, query: bytes) -> bytes | None:
        if len(query) < 12:
            return None
        name = _question_name(query)
        with self._lock:
            self.queries.append((self.run, name))
        ident, flags = struct.unpack("!HH", query[:4])
        # QR=1, the query's opcode and RD, RA=1, RCODE=3 (NXDOMAIN); the question echoed back.
        answer_flags = 0x8000 | (flags & 0x7900) | 0x0080 | 3
        end = _question_end(query)
        return struct.pack("!HHHHHH", ident, answer_flags, 1, 0, 0, 0) + query[12:end]

    def _serve_udp(self) -> None:
        while not self._closed:
            try:
                query, peer = self._udp.recvfrom(4096)
                answer = self._answer(query)
                if answer:
                    self._udp.sendto(answer, peer)
            except OSError:  # closed at the end of the audit
                return

    def _serve_tcp(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._tcp.accept()
            except OSError:
                return
            try:
                conn.settimeout(2.0)
                size = struct.unpack("!H", _recv_exactly(conn, 2))[0]
                answer = self._answer(_recv_exactly(conn, size))
                if answer:
                    conn.sendall(struct.pack("!H", len(answer)) + answer)
            except (OSError, struct.error):
                pass
            finally:
                _close(conn)


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("short read")
        data += chunk
    return data


def _question_end(query: bytes) -> int:
    """Offset just past the first question (name, type, class)."""
    offset = 12
    while offset < len(query) and query[offset] != 0:
        offset += 1 + query[offset]
    return min(offset + 5, len(query))


def _question_name(query: bytes) -> str:
    labels: list[str] = []
    offset = 12
    while offset < len(query) and query[offset] != 0 and len(labels) < 128:
        length = query[offset]
        labels.append(query[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels) or "."
