"""DuckDB's memory limit: the whole budget while an analytics query runs, half of it otherwise.

DuckDB fills whatever limit it has with blocks it might read again, so a limit sized for the
dashboard's queries (~90 MB over 10 M events) was also what the store process grew to while it
only committed. Commits and rollup folds need far less: measured on 2 million batched events,
the process peaked at 191 MB with a 96 MB limit and 149 MB with 48 MB, in the same time.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from collections.abc import Iterator

# DuckDB's own units: KB, MB… are powers of 1000, KiB, MiB… of 1024.
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def size_in_bytes(size: str) -> int:
    """'96MB' → 96000000, '1GiB' → 1073741824. Raises ValueError for anything else."""
    match = _SIZE.match(size)
    if match is None:
        raise ValueError(f"not a size: {size!r}")
    number, prefix, binary = match.groups()
    return int(float(number) * (1024 if binary else 1000) ** _POWERS[prefix.lower()])


class MemoryBudget:
    """Switches the database's memory_limit between `limit` (queries) and half of it (idle).

    Raising the limit always works; lowering it fails while DuckDB holds more than the lower
    limit in blocks it cannot drop, and is then tried again at the next `settle`. With no
    `limit`, DuckDB keeps its own default (80 % of the machine's memory) and nothing switches.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, limit: str | None) -> None:
        self._lock = threading.Lock()
        self._queries = 0
        self._lowered = True  # nothing to lower without a limit
        self._cursor: duckdb.DuckDBPyConnection | None = None
        if limit is None:
            self._full = self._idle = 0
            return
        self._full = size_in_bytes(limit)
        self._idle = self._full // 2
        self._cursor = con.cursor()  # memory_limit is global: any connection may set it
        self._set(self._full)  # fails here, not later, if DuckDB refuses the size
        self._lowered = False
        self._lower()

    @property
    def lowered(self) -> bool:
        """Whether DuckDB runs on half the budget now (False without a limit)."""
        return self._lowered and self._cursor is not None

    @contextlib.contextmanager
    def whole(self) -> Iterator[None]:
        """The whole budget for the duration of the block (concurrent blocks share it): for
        the analytics queries and for the statements and prunes an operator runs."""
        with self._lock:
            self._queries += 1
            if self._queries == 1 and self._lowered and self._cursor is not None:
                self._set(self._full)
                self._lowered = False
        try:
            yield
        finally:
            with self._lock:
                self._queries -= 1
                if self._queries == 0:
                    self._lower()

    def settle(self) -> None:
        """Lower the limit if an earlier attempt failed and no query runs (cheap otherwise)."""
        if not self._lowered and not self._queries:
            with self._lock:
                if not self._queries:
                    self._lower()

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()

    def _lower(self) -> None:
        if self._cursor is None:
            return
        try:
            self._set(self._idle)
        except duckdb.OutOfMemoryException:
            return  # still holding more than that: the next settle tries again
        self._lowered = True

    def _set(self, size: int) -> None:
        assert self._cursor is not None
        self._cursor.execute(f"SET memory_limit = '{size}B'")
