"""Options and store access shared by `candor report`, `export`, `prune` and `generate`.

A store is a DuckDB file the subcommand opens itself. DuckDB lets one process open a file, so
while `candor serve` runs, these commands say so in one line (and `report` can read through the
collector's stats API instead). Every problem becomes a `CommandError`, printed as one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from candor.analytics.filters import (
    DEFAULT_SINCE,
    Filters,
    QueryError,
    parse_interactive,
    parse_range,
)
from candor.cli.errors import CommandError, UsageError
from candor.server.runtime.settings import DEFAULT_STORE
from candor.storage import open_store, scheme_of
from candor.storage.base import StoreError, StoreLocked

if TYPE_CHECKING:
    import argparse

    from candor.analytics.filters import TimeRange
    from candor.storage.base import Store

# Where `make run` (scripts/demo.py) keeps its store, relative to the repository.
MAKE_RUN_STORE = Path("candor-data") / DEFAULT_STORE


def add_store_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, make_run_fallback: bool = False
) -> None:
    """--store, defaulting to CANDOR_STORE, then ./events.duckdb (as `candor serve` does), then
    (with `make_run_fallback`, for commands that only read) `make run`'s store."""
    fallback = f", else ./{MAKE_RUN_STORE} as `make run` leaves it" if make_run_fallback else ""
    parser.add_argument(
        "--store",
        metavar="PATH",
        help=f"the DuckDB file (default: $CANDOR_STORE, else ./{DEFAULT_STORE}{fallback})",
    )


def store_url(given: str | None, *, make_run_fallback: bool = False) -> str:
    """The store a command means: --store, $CANDOR_STORE, ./events.duckdb, or, with
    `make_run_fallback` and no ./events.duckdb, `make run`'s store (commands that only read)."""
    url = given or os.environ.get("CANDOR_STORE") or ""
    if url:
        return url
    if make_run_fallback and not Path(DEFAULT_STORE).exists() and MAKE_RUN_STORE.exists():
        return str(MAKE_RUN_STORE)
    return DEFAULT_STORE


def add_range_arguments(parser: argparse.ArgumentParser) -> None:
    """--since AGE (whole days: 7d, 24h, 4w), or --from/--to days (UTC, inclusive)."""
    parser.add_argument(
        "--since",
        metavar="AGE",
        help=f"the last whole days, e.g. 7d, 24h, 4w (default {DEFAULT_SINCE})",
    )
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (UTC)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (UTC)")


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """--command, --cli-version, --os-arch, --interactive/--ci."""
    parser.add_argument("--command", help="only this command, e.g. build or 'config set'")
    parser.add_argument("--cli-version", help="only this version of the CLI")
    parser.add_argument("--os-arch", help="only this platform, e.g. linux-x86_64")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--interactive", action="store_const", const="true", dest="runs",
                      help="only runs in an interactive terminal")  # fmt: skip
    kind.add_argument("--ci", action="store_const", const="false", dest="runs",
                      help="only runs from scripts and CI")  # fmt: skip


def time_range(args: argparse.Namespace) -> TimeRange:
    """The range the arguments ask for (a UsageError when they make no sense)."""
    try:
        return parse_range(since=args.since, start=args.start, end=args.end)
    except QueryError as error:
        raise UsageError(str(error)) from None


def filters(args: argparse.Namespace) -> Filters:
    """The filters the arguments ask for (a UsageError on a value the schema could not hold)."""
    try:
        return Filters(
            cli_version=args.cli_version,
            os_arch=args.os_arch,
            command=args.command,
            interactive=parse_interactive(args.runs),
        )
    except QueryError as error:
        raise UsageError(str(error)) from None


def open_local(
    given: str | None, *, create: bool = False, busy_hint: str = "", make_run_fallback: bool = False
) -> Store:
    """Open the store `store_url` picks; a missing file (unless `create`) or a busy one is a
    CommandError. `busy_hint` ends the message when a running collector holds the file.
    """
    url = store_url(given, make_run_fallback=make_run_fallback and not create)
    if scheme_of(url) == "duckdb" and not create:
        path = Path(url.removeprefix("duckdb://"))
        if not path.exists():
            where = "give --store PATH"
            if not given and url == DEFAULT_STORE:
                where += f"; `make run` keeps its store in {MAKE_RUN_STORE} in the repository"
            raise CommandError(f"no store at {path} ({where})")
    try:
        return open_store(url)
    except StoreLocked as error:
        raise CommandError(f"{error}{busy_hint}") from None
    except StoreError as error:
        raise CommandError(str(error)) from None
