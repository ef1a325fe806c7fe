"""Options and store access shared by `candor report`, `export`, `prune` and `generate`.

A store is a DuckDB file the subcommand opens itself. DuckDB lets one process open a file, so
while `candor serve` runs, these commands say so in one line (and `report` can read through the
collector's stats API instead). Every problem becomes `CommandFailed`, printed as one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from candor.analytics.filters import DEFAULT_SINCE, Filters, parse_interactive, parse_range
from candor.server.settings import DEFAULT_STORE
from candor.storage import open_store, scheme_of
from candor.storage.base import StoreError

if TYPE_CHECKING:
    import argparse

    from candor.analytics.filters import TimeRange
    from candor.storage.base import Store

EXIT_FAILED, EXIT_USAGE = 1, 2


class CommandFailed(Exception):
    """A subcommand cannot go on; the message is one line, the status the exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def add_store_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--store, defaulting to CANDOR_STORE, then ./events.duckdb (as `candor serve` does)."""
    parser.add_argument(
        "--store",
        metavar="PATH",
        default=os.environ.get("CANDOR_STORE") or DEFAULT_STORE,
        help=f"the DuckDB file (default: $CANDOR_STORE or ./{DEFAULT_STORE})",
    )


def add_range_arguments(parser: argparse.ArgumentParser) -> None:
    """--since N[d|w], or --from/--to days (UTC, inclusive)."""
    parser.add_argument(
        "--since",
        metavar="AGE",
        help=f"the last N days or weeks, e.g. 7d, 4w (default {DEFAULT_SINCE})",
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
    """The range the arguments ask for (QueryError when they make no sense)."""
    return parse_range(since=args.since, start=args.start, end=args.end)


def filters(args: argparse.Namespace) -> Filters:
    """The filters the arguments ask for (QueryError on a value the schema could not hold)."""
    return Filters(
        cli_version=args.cli_version,
        os_arch=args.os_arch,
        command=args.command,
        interactive=parse_interactive(args.runs),
    )


def open_local(url: str, *, create: bool = False, busy_hint: str = "") -> Store:
    """Open the store; a missing file (unless `create`) or a busy one is a CommandFailed."""
    if scheme_of(url) == "duckdb" and not create:
        path = Path(url.removeprefix("duckdb://"))
        if not path.exists():
            raise CommandFailed(f"no store at {path} (give --store PATH)")
    try:
        return open_store(url)
    except StoreError as error:
        text = str(error)
        if "another process" in text and busy_hint:
            text = f"{text}; {busy_hint}"
        raise CommandFailed(text) from None
