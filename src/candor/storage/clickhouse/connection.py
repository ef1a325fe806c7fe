"""Two ways to reach ClickHouse behind one small interface: `rows`, `run`, `insert`, `close`.

- `DriverConnection`: a ClickHouse server over the native protocol with clickhouse-driver,
  plain or TLS. Chosen by measurement (see docs/scaling.md): it speaks to every server from
  18.16 (Debian's) to current ones, and inserts ~470 k rows/s against ~120 k through the HTTP
  interface with JSON; clickhouse-connect refuses 18.16 at connect.
- `ChdbConnection`: ClickHouse's current engine inside this process (chDB), for tests and
  single-machine trials of the modern dialect.

Both return plain Python values (UUIDs as str, times as naive UTC datetimes), raise only
StoreError, and take SQL with its values already written in as literals (`literal`): one code
path for both, and every value the store writes in is typed by the store itself.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from candor.storage.base import StoreError, StoreLocked

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from candor.storage.clickhouse.url import Target

Settings = dict[str, int | str]
CONNECT_TIMEOUT_S = 3.0
POOL_SIZE = 8  # connections kept open: the writer, analytics queries, health checks


class Connection(Protocol):
    version: tuple[int, ...]  # the server's, from SELECT version()
    # `insert` takes times as integers since the epoch, in the column's unit (seconds for
    # DateTime, microseconds for DateTime64(6)), not as datetimes.
    integer_times: bool

    def rows(self, sql: str, settings: Settings | None = None) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, settings: Settings | None = None) -> None: ...

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[object]],
        settings: Settings | None = None,
        *,
        columnar: bool = False,
    ) -> None:
        """INSERT `data`: rows, or with `columnar` one sequence per column."""
        ...

    def close(self) -> None: ...


def connect(target: Target, host: str | None = None, port: int | None = None) -> Connection:
    """A connection to `target` (or to another node of its cluster: `host`, `port`)."""
    if target.scheme == "chdb":
        return ChdbConnection(target)
    return DriverConnection(target, host or target.host, port or target.port)


# ---------------------------------------------------------------------- literals


def literal(value: object) -> str:
    """`value` as a ClickHouse literal (strings escaped, times in UTC)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        # A string: the column it meets (DateTime('UTC') or DateTime64(6, 'UTC')) reads it in
        # UTC with its own precision. For comparisons use Layout.moment, which knows that.
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"'{value.isoformat(sep=' ', timespec='microseconds')}'"
    if isinstance(value, dt.date):
        return f"toDate('{value.isoformat()}')"
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise TypeError(f"no ClickHouse literal for {type(value).__name__}")


def _plain(value: Any) -> Any:
    """A driver value as the store hands it out."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _first_line(error: BaseException) -> str:
    text = str(error).split("Stack trace:")[0].strip().rstrip(".") + "."
    for line in text.splitlines():
        line = line.strip()
        if line and line != "Code: " and not re.fullmatch(r"Code: \d+\.", line):
            return line[:300]
    return text.splitlines()[0][:300] if text else type(error).__name__


# ---------------------------------------------------------------------- a server


class DriverConnection:
    """A pool of clickhouse-driver clients to one server (each client serves one thread)."""

    integer_times = True  # the driver's own conversion of each datetime was ~20 % of a commit

    def __init__(self, target: Target, host: str, port: int) -> None:
        try:
            import clickhouse_driver
        except ModuleNotFoundError:
            raise StoreError(
                "the clickhouse store needs clickhouse-driver: pip install 'candor[clickhouse]'"
            ) from None

        self._driver = clickhouse_driver
        # The driver logs each failed socket operation with a traceback; the store turns every
        # failure into one StoreError line, which the collector reports once.
        logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)
        self._target = target
        self._where = f"{host}:{port}"
        self._options: dict[str, Any] = {
            "host": host,
            "port": port,
            "user": target.user,
            "password": target.password,
            "database": "default",  # the store's database may not exist yet; names are qualified
            # A statement that has not answered within target.timeout fails (the collector then
            # answers 503): a commit never hangs a request, whatever the server does.
            "connect_timeout": min(CONNECT_TIMEOUT_S, target.timeout),
            "send_receive_timeout": target.timeout,
            "sync_request_timeout": min(CONNECT_TIMEOUT_S, target.timeout),
            "client_name": "candor",
            "settings": {"max_execution_time": max(1, int(target.timeout))},
        }
        if target.secure:
            self._options.update(secure=True, verify=True, ca_certs=target.ca)
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        rows = self.rows("SELECT version()")
        self.version = _version(str(rows[0][0]))

    def rows(self, sql: str, settings: Settings | None = None) -> list[tuple[Any, ...]]:
        result = self._call(lambda client: client.execute(sql, settings=settings))
        return [tuple(_plain(value) for value in row) for row in result]

    def run(self, sql: str, settings: Settings | None = None) -> None:
        self._call(lambda client: client.execute(sql, settings=settings))

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[object]],
        settings: Settings | None = None,
        *,
        columnar: bool = False,
    ) -> None:
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES"
        self._call(
            lambda client: client.execute(statement, data, settings=settings, columnar=columnar)
        )

    def close(self) -> None:
        while True:
            try:
                client = self._idle.get_nowait()
            except queue.Empty:
                return
            client.disconnect()

    def _call(self, work: Any) -> Any:
        try:
            client = self._idle.get_nowait()
        except queue.Empty:
            client = self._driver.Client(**self._options)
        try:
            result = work(client)
        except self._driver.errors.Error as error:
            client.disconnect()  # its state after a failure is unknown: start afresh
            raise StoreError(self._describe(error)) from None
        except (OSError, EOFError) as error:
            client.disconnect()
            raise StoreError(f"cannot reach ClickHouse at {self._where}: {error}") from None
        if self._idle.qsize() < POOL_SIZE:
            self._idle.put(client)
        else:
            client.disconnect()
        return result

    def _describe(self, error: Exception) -> str:
        errors = self._driver.errors
        if isinstance(error, errors.NetworkError | errors.SocketTimeoutError):
            return f"cannot reach ClickHouse at {self._where}: {_first_line(error)}"
        code = getattr(error, "code", None)
        prefix = f"ClickHouse at {self._where}"
        if code in (192, 193, 516):  # unknown user, wrong password, authentication failed
            return (
                f"{prefix} refused user {self._target.user!r}: check the password "
                f"(in the URL or CANDOR_CLICKHOUSE_PASSWORD)"
            )
        return f"{prefix}: {_first_line(error)}"


# ---------------------------------------------------------------------- chDB, in process

_CHDB_LOCK = threading.Lock()  # chDB's engine is one per process: statements take turns


class ChdbConnection:
    """ClickHouse's engine in this process on a data directory (one per process)."""

    integer_times = False  # values are written as SQL literals

    def __init__(self, target: Target) -> None:
        try:
            from chdb import session
        except ModuleNotFoundError:
            raise StoreError("the chdb store needs chDB: pip install chdb") from None

        assert target.path is not None
        opener: Any = session.Session  # chDB ships no type hints
        try:
            self._session: Any = opener(target.path)
        except Exception as error:
            text = _first_line(error)
            if "already initialized" in text or "Cannot lock file" in text:
                raise StoreLocked(f"chDB: {text}") from None
            raise StoreError(f"chDB at {target.path}: {text}") from None
        self._closed = False
        self.version = _version(str(self.rows("SELECT version()")[0][0]))

    def rows(self, sql: str, settings: Settings | None = None) -> list[tuple[Any, ...]]:
        text = self._query(sql, settings, "JSONCompact")
        if not text.strip():
            return []
        answer = json.loads(text)
        kinds = [column["type"] for column in answer["meta"]]
        return [
            tuple(_from_json(kind, value) for kind, value in zip(kinds, row, strict=True))
            for row in answer["data"]
        ]

    def run(self, sql: str, settings: Settings | None = None) -> None:
        self._query(sql, settings, "CSV")

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[object]],
        settings: Settings | None = None,
        *,
        columnar: bool = False,
    ) -> None:
        rows = list(zip(*data, strict=True)) if columnar else data
        if not rows:
            return
        values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
        self.run(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}", settings)

    def close(self) -> None:
        with _CHDB_LOCK:
            if not self._closed:
                self._closed = True
                self._session.close()

    def _query(self, sql: str, settings: Settings | None, output: str) -> str:
        options = {"output_format_json_quote_64bit_integers": 0, **(settings or {})}
        clause = " SETTINGS " + ", ".join(f"{k} = {literal(v)}" for k, v in options.items())
        # A SETTINGS clause cannot follow every statement (DDL): those run as they are.
        statement = sql + clause if sql.lstrip().upper().startswith(("SELECT", "WITH")) else sql
        with _CHDB_LOCK:
            if self._closed:
                raise StoreError("the chDB store is closed")
            try:
                result = self._session.query(statement, output)
            except Exception as error:
                raise StoreError(f"chDB: {_first_line(error)}") from None
        return str(result.bytes().decode())


_WRAPPERS = re.compile(r"^(?:Nullable|LowCardinality)\((.*)\)$")


def _from_json(kind: str, value: Any) -> Any:
    """A JSONCompact value of ClickHouse type `kind` as a plain Python value."""
    while True:
        inner = _WRAPPERS.match(kind)
        if inner is None:
            break
        kind = inner.group(1)
    if value is None:
        return None
    if kind.startswith("Array("):
        return [_from_json(kind[6:-1], item) for item in value]
    if kind.startswith("Tuple("):
        return tuple(value)
    if kind.startswith("DateTime"):
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    if kind.startswith("Date"):
        return dt.date.fromisoformat(value)
    if kind.startswith(("Int", "UInt")) and isinstance(value, str):
        return int(value)
    return value


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def settings_clause(settings: Mapping[str, object]) -> str:
    """` SETTINGS a = 1, …` for statements that take one (empty when none)."""
    if not settings:
        return ""
    return " SETTINGS " + ", ".join(f"{k} = {literal(v)}" for k, v in settings.items())
