"""`candor prune`: delete raw events (and their rollup days) older than the retention limit.

`candor serve --retention 400d` prunes at start and daily on its own; this is the same for a
store no collector holds, or for a one-off clean-up (`--dry-run` first to see how many).
"""

from __future__ import annotations

import argparse
import os
import sys

from candor.analytics.filters import parse_day
from candor.cli import options
from candor.cli.options import EXIT_USAGE, CommandFailed
from candor.server.settings import SettingsError, parse_duration
from candor.storage import rollups
from candor.storage.base import StoreError, utc_now


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor prune",
        description="Delete raw events received before the retention limit; the aggregates "
        "of the days wholly before it go too.",
    )
    options.add_store_argument(parser)
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--retention", metavar="AGE",
                       help="keep this much, e.g. 400d (default: $CANDOR_RETENTION)")  # fmt: skip
    limit.add_argument("--before", metavar="YYYY-MM-DD", help="delete what came before this day (UTC)")
    parser.add_argument("--dry-run", action="store_true", help="only say how many would go")
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `candor prune`; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return prune(args)
    except CommandFailed as error:
        print(f"candor prune: {error}", file=sys.stderr)
        return error.status


def prune(args: argparse.Namespace) -> int:
    if args.before:
        try:
            cutoff = options_day(args.before)
        except ValueError as error:
            raise CommandFailed(str(error), EXIT_USAGE) from None
    else:
        text = args.retention or os.environ.get("CANDOR_RETENTION", "")
        try:
            retention = parse_duration(text) if text else None
        except SettingsError as error:
            raise CommandFailed(str(error), EXIT_USAGE) from None
        if retention is None:
            raise CommandFailed("give --retention AGE (e.g. 400d) or --before YYYY-MM-DD", EXIT_USAGE)
        cutoff = utc_now() - retention
    store = options.open_local(
        args.store, busy_hint="the running collector prunes daily with candor serve --retention AGE"
    )
    try:
        if args.dry_run:
            ((count,),) = store.query("SELECT count(*) FROM events WHERE received_at < ?", [cutoff])
            print(f"candor prune: would delete {count:,} events received before {cutoff:%Y-%m-%d %H:%M} UTC")
            return 0
        count = store.prune(cutoff)
        rollups.prune(store, cutoff)
    except StoreError as error:
        raise CommandFailed(str(error)) from None
    finally:
        store.close()
    print(f"candor prune: deleted {count:,} events received before {cutoff:%Y-%m-%d %H:%M} UTC")
    return 0


def options_day(text: str):  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.combine(parse_day(text, "--before"), dt.time())
