"""A stdlib HTTPS forward proxy (HTTP CONNECT tunnels) on 127.0.0.1, recording each tunnel.

Enough to prove a client honours HTTPS_PROXY and NO_PROXY: it opens a TCP tunnel to the
requested host and copies bytes both ways; TLS stays end to end, so the proxy sees no content.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading

TUNNEL_IDLE_S = 10.0  # a tunnel with no traffic for this long is closed
SHUTDOWN_POLL_S = 0.02  # how often serve_forever looks for shutdown()


class ConnectProxy:
    """Use as a context manager; `url` goes into HTTPS_PROXY, `tunnels` lists "host:port".

    `requests` lists every request line it received, CONNECT or not (a plain-http request
    sent through it, which it refuses, shows there). `hosts` maps names the proxy resolves
    itself, e.g. {"collector.test": "127.0.0.1"}: a host the client cannot reach directly.
    """

    def __init__(self, hosts: dict[str, str] | None = None) -> None:
        self.tunnels: list[str] = []
        self.requests: list[str] = []
        self.hosts = dict(hosts or {})
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_S,), daemon=True
        )

    @property
    def url(self) -> str:
        """The proxy's address, as HTTPS_PROXY expects it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: ConnectProxy


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(65536).decode("latin-1")
        self.server.proxy.requests.append(line.strip())
        request_line = line.split()
        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
            pass  # the request's headers
        if len(request_line) < 2 or request_line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        target = request_line[1]
        host, _, port = target.rpartition(":")
        self.server.proxy.tunnels.append(target)
        try:
            address = (self.server.proxy.hosts.get(host, host), int(port))
            upstream = socket.create_connection(address, timeout=TUNNEL_IDLE_S)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _pipe(self.connection, upstream)


def _pipe(left: socket.socket, right: socket.socket) -> None:
    """Copy bytes both ways until either side closes or the tunnel idles."""
    peers = {left: right, right: left}
    while True:
        readable, _, _ = select.select(list(peers), [], [], TUNNEL_IDLE_S)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)
