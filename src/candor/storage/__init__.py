"""Stores for events, chosen by URL: `open_store("events.duckdb")`.

- `base`: the contract every backend implements (`Store`), its one error, the commit types.
- `questions`: the analytics questions a store answers, their range, filters and rows.
- `plan`: the backend-free half of a group commit; `synthetic`: the synthetic data's model.
- one package per backend (`duckdb`, ...): its SQL, and nothing else of it leaves storage.

A backend is one package plus one line in `STORES` (scheme → "module:Class" import string, as
uvicorn's config does), so the server, the analytics and the CLI never import a backend they
do not use, and a missing optional library fails only when its scheme is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from candor.storage.base import StoreError

if TYPE_CHECKING:
    from candor.storage.base import Store

# scheme → "module:Class"; the class takes the URL and opens the store.
STORES: dict[str, str] = {
    "duckdb": "candor.storage.duckdb:DuckDBStore",
    # extra [clickhouse]; chdb (ClickHouse's engine in process) is pip install chdb
    "clickhouse": "candor.storage.clickhouse:ClickHouseStore",
    "clickhouses": "candor.storage.clickhouse:ClickHouseStore",
    "chdb": "candor.storage.clickhouse:ClickHouseStore",
}
DEFAULT_SCHEME = "duckdb"  # a plain path is an embedded DuckDB file


def scheme_of(url: str) -> str:
    """The backend scheme of `url`; a plain path (no "scheme://") is DuckDB."""
    head, sep, _ = url.partition("://")
    if not sep or not head.isidentifier():
        return DEFAULT_SCHEME
    return head.lower()


def open_store(url: str, *, memory_limit: str | None = None) -> Store:
    """Open the store `url` names: a path or `duckdb:///path` → DuckDB.

    `memory_limit` (e.g. "96MB") caps what an embedded store keeps in memory; None leaves the
    engine's default. Raises StoreError with a one-line reason (unknown scheme, missing
    library, file locked, a limit the engine refuses).
    """
    scheme = scheme_of(url)
    target = STORES.get(scheme)
    if target is None:
        known = ", ".join(sorted(STORES))
        raise StoreError(f"unknown store scheme {scheme!r} in {url!r} (known: {known})")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise StoreError(f"the {scheme} store is not part of this installation") from None
        if error.name and error.name.split(".")[0] == "candor":
            raise
        extra = "server" if scheme == DEFAULT_SCHEME else scheme.rstrip("s")
        raise StoreError(
            f"the {scheme} store needs {error.name!r}: pip install 'candor[{extra}]'"
        ) from None
    store: Store = getattr(module, class_name)(url, memory_limit=memory_limit)
    return store


__all__ = ["STORES", "StoreError", "open_store", "scheme_of"]
