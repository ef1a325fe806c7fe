"""`candor prune`: delete raw events (and their rollup days) older than the retention limit.

`candor serve --retention 400d` prunes at start and daily on its own; this is the same for a
store no collector holds, or for a one-off clean-up (`--dry-run` first to see how many).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from candor.analytics.filters import QueryError, parse_day
from candor.cli import options
from candor.cli.options import EXIT_USAGE, CommandFailed
from candor.server.settings import SettingsError, parse_duration
from candor.storage.base import StoreError, utc_now

BUSY_HINT = "the running collector prunes by itself with candor serve --retention AGE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor prune",
        description="Delete raw events received before the retention limit; the aggregates "
        "of the days wholly before it go too.",
    )
    options.add_store_argument(parser)
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument(
        "--retention", metavar="AGE", help="keep this much, e.g. 400d (default: $CANDOR_RETENTION)"
    )
    limit.add_argument(
        "--before", metavar="YYYY-MM-DD", help="delete what came before this day (UTC)"
    )
    parser.add_argument("--dry-run", action="store_true", help="only say how many would go")
    return parser


def cutoff_of(args: argparse.Namespace) -> dt.datetime:
    """The instant before which events go (naive UTC)."""
    try:
        if args.before:
            return dt.datetime.combine(parse_day(args.before, "--before"), dt.time())
        text = args.retention or os.environ.get("CANDOR_RETENTION", "")
        retention = parse_duration(text) if text else None
    except (QueryError, SettingsError) as error:
        raise CommandFailed(str(error), EXIT_USAGE) from None
    if retention is None:
        raise CommandFailed("give --retention AGE (e.g. 400d) or --before YYYY-MM-DD", EXIT_USAGE)
    return utc_now() - retention


def prune(args: argparse.Namespace) -> str:
    """Prune (or count, with --dry-run); the line to print."""
    cutoff = cutoff_of(args)
    when = f"received before {cutoff:%Y-%m-%d %H:%M} UTC"
    store = options.open_local(args.store, busy_hint=BUSY_HINT)
    try:
        if args.dry_run:
            count = store.count_events(end=cutoff)
            return f"would delete {count:,} events {when}"
        count = store.prune(cutoff)  # the store prunes the rollups' days in the same transaction
    except StoreError as error:
        raise CommandFailed(str(error)) from None
    finally:
        store.close()
    return f"deleted {count:,} events {when}"


def main(argv: list[str]) -> int:
    """Entry point of `candor prune`; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        print(f"candor prune: {prune(args)}")
    except CommandFailed as error:
        print(f"candor prune: {error}", file=sys.stderr)
        return error.status
    return 0
