"""What `candor serve` checks before it announces anything or creates a store file.

Each check turns a set-up mistake into one `UsageError` line that names the flag, the file or
the address: TLS files that are no PEM or do not belong together, a memory limit DuckDB
cannot work in, an address that does not resolve or is taken. The listening sockets are bound
here, first, so a port in use fails before the store exists.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from typing import NoReturn

from candor.cli.errors import UsageError

# The smallest --memory-limit the store is known to work in: DuckDB allocates 256 KiB blocks
# and needs a few MB to open a file, commit and fold; with 16 MB (8 MB while only committing)
# it commits and answers the dashboard's questions (tests/cli/test_serve_setup.py).
MEMORY_FLOOR = "16MB"
LISTEN_BACKLOG = 2048  # uvicorn's default
# DuckDB's units, as settings.py accepts them: KB, MB… are powers of 1000, KiB, MiB… of 1024.
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B\s*$", re.IGNORECASE)


def size_in_bytes(size: str) -> int:
    """'96MB' → 96000000, '1GiB' → 1073741824 (a size settings.py has already checked)."""
    match = _SIZE.match(size)
    if match is None:
        raise UsageError(f"--memory-limit {size!r}: use a size like 96MB or 1GB")
    number, prefix, binary = match.groups()
    power = "_KMGT".index(prefix.upper() or "_")
    return int(float(number) * (1024 if binary else 1000) ** power)


def check_memory_limit(limit: str | None) -> None:
    """Refuse a memory limit below MEMORY_FLOOR (None: DuckDB's default, always enough)."""
    if limit is not None and size_in_bytes(limit) < size_in_bytes(MEMORY_FLOOR):
        raise UsageError(
            f"--memory-limit {limit} is below the {MEMORY_FLOOR} the store needs at least"
        )


def check_tls(cert: str, key: str) -> None:
    """The certificate and key load as PEM and belong together, else one line naming which."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _require_pem(cert, "--tls-cert", "CERTIFICATE")
    _require_pem(key, "--tls-key", "PRIVATE KEY")
    try:
        context.load_verify_locations(cafile=cert)
    except ssl.SSLError as error:
        raise UsageError(f"--tls-cert {cert}: not a PEM certificate ({_reason(error)})") from None

    def no_password() -> NoReturn:
        raise UsageError(f"--tls-key {key} is encrypted: candor serve needs an unencrypted key")

    try:
        context.load_cert_chain(cert, key, password=no_password)
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error):
            raise UsageError(f"--tls-key {key} does not match the certificate {cert}") from None
        raise UsageError(f"--tls-key {key}: not a usable PEM key ({_reason(error)})") from None


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address `host` resolves to; a UsageError if it cannot be."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError(f"--host {host}: cannot resolve it ({error.strerror})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        for sock in sockets:
            sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if error.errno == errno.EADDRINUSE:
            raise UsageError(
                f"cannot listen on {where}: address already in use "
                "(another collector? stop it, or choose another --port)"
            ) from None
        raise UsageError(f"cannot listen on {where}: {error.strerror or error}") from None
    return sockets


def _require_pem(path: str, flag: str, label: str) -> None:
    try:
        with open(path, "rb") as file:
            text = file.read()
    except OSError as error:
        raise UsageError(f"{flag} {path}: {error.strerror or error}") from None
    if f"-----BEGIN {label}-----".encode() not in text and not (
        label == "PRIVATE KEY" and b" PRIVATE KEY-----" in text
    ):
        raise UsageError(f"{flag} {path}: not a PEM file (no '-----BEGIN {label}-----' line)")


def _reason(error: ssl.SSLError) -> str:
    return str(error.reason or error).replace("_", " ").lower()
