"""Store URLs of the ClickHouse backend, parsed into where and how to connect.

    clickhouse://USER:PASSWORD@HOST:PORT/DATABASE     native protocol (default port 9000)
    clickhouses://USER:PASSWORD@HOST:PORT/DATABASE    the same over TLS (default port 9440)
    chdb:///PATH                                       ClickHouse's engine in this process (chDB)

Query parameters: `cluster=NAME` (tables replicated and sharded over that cluster of the
server's `remote_servers`), `ca=PEM` (the CA bundle a clickhouses:// server is verified with),
`timeout=SECONDS` (how long one statement may take before it fails: default 20).
A password left out of the URL is read from CANDOR_CLICKHOUSE_PASSWORD, so it need not sit in
a shell's history or a process list. `Target.display` is the URL without the password.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote, urlsplit

from candor.storage.base import StoreError

if TYPE_CHECKING:
    from collections.abc import Mapping

PASSWORD_VARIABLE = "CANDOR_CLICKHOUSE_PASSWORD"
SCHEMES = ("clickhouse", "clickhouses", "chdb")
DEFAULT_PORTS = {"clickhouse": 9000, "clickhouses": 9440}
DEFAULT_DATABASE = "candor"
DEFAULT_TIMEOUT_S = 20.0
# Database and cluster names go into DDL as identifiers: nothing that would need quoting.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a ClickHouse store lives."""

    scheme: str
    host: str = ""
    port: int = 0
    user: str = "default"
    password: str = ""
    database: str = DEFAULT_DATABASE
    cluster: str | None = None
    ca: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S  # seconds one statement may take
    path: str | None = None  # chdb: the data directory

    @property
    def secure(self) -> bool:
        return self.scheme == "clickhouses"

    @property
    def display(self) -> str:
        """The URL, normalised, without its password."""
        if self.scheme == "chdb":
            url = f"chdb://{self.path}"
        else:
            user = quote(self.user, safe="")
            url = f"{self.scheme}://{user}@{self.host}:{self.port}/{self.database}"
        return url + (f"?cluster={self.cluster}" if self.cluster else "")


def parse(url: str, environ: Mapping[str, str] = os.environ) -> Target:
    """The Target `url` names; StoreError with a one-line reason when it names none."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise StoreError(f"not a ClickHouse store URL: {_redact(url)!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"cluster", "ca", "timeout"}
    if unknown:
        known = "cluster, ca, timeout"
        raise StoreError(f"unknown store URL parameter {sorted(unknown)[0]!r} (known: {known})")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT_S))
    except ValueError:
        timeout = 0.0
    if not 0.5 <= timeout <= 3600:
        raise StoreError("timeout= in a store URL: seconds, from 0.5 to 3600")
    cluster = query.get("cluster") or None
    if cluster is not None and not _NAME.match(cluster):
        raise StoreError(f"cluster name {cluster!r}: letters, digits and _ only")
    if scheme == "chdb":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise StoreError("chdb store URL needs a directory: chdb:///path/to/dir")
        return Target("chdb", path=os.path.abspath(path), cluster=cluster)
    if not parts.hostname:
        raise StoreError(f"no host in store URL {_redact(url)!r}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise StoreError(f"bad port in store URL {_redact(url)!r}") from None
    database = unquote(parts.path.lstrip("/")) or DEFAULT_DATABASE
    if not _NAME.match(database):
        raise StoreError(f"database name {database!r}: letters, digits and _ only")
    password = unquote(parts.password) if parts.password is not None else None
    return Target(
        scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username else "default",
        password=password if password is not None else environ.get(PASSWORD_VARIABLE, ""),
        database=database,
        cluster=cluster,
        ca=query.get("ca"),
        timeout=timeout,
    )


def with_cluster(url: str, cluster: str) -> str:
    """`url` asking for the cluster `cluster` (`candor serve --cluster NAME`)."""
    if urlsplit(url).scheme.lower() not in ("clickhouse", "clickhouses"):
        raise StoreError("--cluster needs a ClickHouse server store: --store clickhouse://…")
    if not _NAME.match(cluster):
        raise StoreError(f"cluster name {cluster!r}: letters, digits and _ only")
    return url + ("&" if "?" in url else "?") + f"cluster={cluster}"


def _redact(url: str) -> str:
    """`url` with any password replaced, for error messages."""
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)
