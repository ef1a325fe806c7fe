"""open_store: the URL → backend registry and its one-line errors."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from candor.storage import STORES, StoreError, open_store, scheme_of
from candor.storage.duckdb import DuckDBStore

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("events.duckdb", "duckdb"),
        ("/var/lib/candor/events.duckdb", "duckdb"),
        ("duckdb:///var/lib/x.duckdb", "duckdb"),
        ("clickhouse://db:8123/candor", "clickhouse"),
        ("C:\\data\\events.duckdb", "duckdb"),
    ],
)
def test_scheme_of(url: str, scheme: str) -> None:
    """A plain path is DuckDB; otherwise the part before ://."""
    assert scheme_of(url) == scheme


def test_every_registered_store_names_a_module_and_class() -> None:
    """Registry entries are "module:Class" import strings, one line per backend."""
    for target in STORES.values():
        module, _, name = target.partition(":")
        assert module.startswith("candor.storage.") and name


@pytest.mark.parametrize("form", ["{path}", "duckdb://{path}"])
def test_paths_and_duckdb_urls_open_the_same_file(tmp_path: Path, form: str) -> None:
    """A plain path and duckdb:///abs/path give a DuckDB store with a normalised URL."""
    path = tmp_path / "e.duckdb"
    store = open_store(form.format(path=path))
    try:
        assert isinstance(store, DuckDBStore)
        assert store.path == str(path)
        assert store.url == f"duckdb://{path}"
    finally:
        store.close()


def test_an_unknown_scheme_is_a_store_error() -> None:
    """An unknown scheme names the known ones."""
    with pytest.raises(StoreError, match=r"unknown store scheme 'mysql'.*known: .*duckdb"):
        open_store("mysql://localhost/db")


def test_a_file_held_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    """DuckDB allows one writing process per file: the second gets a readable StoreError."""
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="open in another process"):
            open_store(str(path))
    finally:
        holder.communicate("", timeout=30)


def test_a_registered_backend_that_is_not_installed_is_a_store_error() -> None:
    """A scheme whose backend package is absent from this installation: one clear line."""
    STORES["nowhere"] = "candor.storage.nowhere:NoStore"
    try:
        with pytest.raises(StoreError, match="the nowhere store is not part of this installation"):
            open_store("nowhere://host/db")
    finally:
        del STORES["nowhere"]
