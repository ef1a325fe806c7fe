"""`candor generate`: fill a store with realistic synthetic events, for demos and benchmarks.

The store adds the events in one statement of its engine and rebuilds its aggregates once:
10 million events take well under a minute (see `make bench-queries`). `make run` uses this so
that a newcomer's dashboard is not empty.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from candor.analytics.generate import DEFAULT_DAYS, MAX_EVENTS, generate_events
from candor.cli import options
from candor.cli.errors import CommandError, UsageError
from candor.storage.base import StoreError

DEFAULT_EVENTS = 100_000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor generate",
        description="Add synthetic events to a store: power-law command popularity, several "
        "releases (one of them slower), error bursts, CI and interactive runs.",
    )
    options.add_store_argument(parser)
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help=f"how many (default {DEFAULT_EVENTS:,})"
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"spread over the last N days (default {DEFAULT_DAYS})",
    )
    parser.add_argument("--seed", type=int, default=1, help="same seed, same events (default 1)")
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `candor generate`; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not 0 < args.events <= MAX_EVENTS or args.days < 1:
        raise UsageError(f"--events must be 1 to {MAX_EVENTS:,} and --days at least 1")
    where = options.store_url(args.store)
    store = options.open_local(where, create=True)
    started = time.monotonic()
    try:
        generate_events(store, args.events, days=args.days, seed=args.seed,
                        end=dt.datetime.now(dt.UTC).replace(tzinfo=None))  # fmt: skip
    except (StoreError, ValueError) as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    print(f"candor generate: added {args.events:,} events over {args.days} days to {where} "
          f"in {time.monotonic() - started:.1f} s")  # fmt: skip
    return 0
