"""`candor prune`: delete raw events (and their rollup days) older than the retention limit.

`candor serve --retention 400d` prunes at start and daily on its own; this is the same for a
store no collector holds, or for a one-off clean-up (`--dry-run` first to see how many). It
always says how many events went, and on a terminal it asks before deleting more than half of
the store (`--yes` skips the question; scripts, with no terminal, are never asked).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from candor.analytics.durations import DurationError, parse_retention
from candor.analytics.filters import QueryError, parse_day
from candor.cli import options
from candor.cli.errors import CommandError, UsageError
from candor.storage.base import StoreError, utc_now

BUSY_HINT = "; a running collector prunes by itself with candor serve --retention AGE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor prune",
        description="Delete raw events received before the retention limit; the aggregates "
        "of the days wholly before it go too.",
    )
    options.add_store_argument(parser)
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument(
        "--retention",
        metavar="AGE",
        help="keep this much, at least 1d: e.g. 400d, 52w (default: $CANDOR_RETENTION)",
    )
    limit.add_argument(
        "--before", metavar="YYYY-MM-DD", help="delete what came before this day (UTC)"
    )
    parser.add_argument("--dry-run", action="store_true", help="only say how many would go")
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do not ask, even when more than half would go"
    )
    return parser


def cutoff_of(args: argparse.Namespace) -> dt.datetime:
    """The instant before which events go (naive UTC)."""
    try:
        if args.before:
            return dt.datetime.combine(parse_day(args.before, "--before"), dt.time())
        text = args.retention or os.environ.get("CANDOR_RETENTION", "")
        retention = parse_retention(text) if text else None
    except (QueryError, DurationError) as error:
        raise UsageError(str(error)) from None
    if retention is None:
        raise UsageError("give --retention AGE (e.g. 400d) or --before YYYY-MM-DD")
    return utc_now() - retention


def confirmed(doomed: int, total: int, when: str) -> bool:
    """Ask on the terminal whether `doomed` of `total` events may go; True on y or yes."""
    sys.stderr.write(f"candor prune: delete {doomed:,} of the {total:,} events ({when})? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def prune(args: argparse.Namespace) -> str:
    """Prune (or count, with --dry-run); the line to print."""
    cutoff = cutoff_of(args)
    when = f"received before {cutoff:%Y-%m-%d %H:%M} UTC"
    store = options.open_local(args.store, busy_hint=BUSY_HINT)
    try:
        doomed, total = store.count_events(end=cutoff), store.count_events()
        if args.dry_run:
            return f"would delete {doomed:,} events {when}; {total - doomed:,} would remain"
        asks = not args.yes and sys.stdin.isatty()
        if asks and 2 * doomed > total and not confirmed(doomed, total, when):
            raise CommandError(f"nothing deleted; all {total:,} events kept")
        count = store.prune(cutoff)  # the store prunes the rollups' days in the same transaction
        remaining = store.count_events()
    except StoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    return f"deleted {count:,} events {when}; {remaining:,} remain"


def main(argv: list[str]) -> int:
    """Entry point of `candor prune`; returns the exit status (errors: CommandError)."""
    print(f"candor prune: {prune(build_parser().parse_args(argv))}")
    return 0
