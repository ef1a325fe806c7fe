"""`candor export`: the raw events as Parquet or CSV, for analysis elsewhere.

The file holds installation IDs, like the store: handle it as you handle the store. The store
writes it straight from its engine (DuckDB: `COPY … TO`), so even millions of events take seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from candor.cli import options
from candor.cli.errors import CommandError, UsageError
from candor.storage.base import EXPORT_FORMATS, StoreError

FORMATS = EXPORT_FORMATS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor export",
        description="Write the raw events (the nine fields and received_at) to a file.",
    )
    options.add_store_argument(parser)
    parser.add_argument("--format", choices=sorted(FORMATS), required=True)
    parser.add_argument("--output", "-o", type=Path, help="the file (default events.FORMAT)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument(
        "--since", metavar="AGE", help="only the last N days or weeks (default: all)"
    )
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (UTC)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (UTC)")
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `candor export`; returns the exit status."""
    return export(build_parser().parse_args(argv))


def export(args: argparse.Namespace) -> int:
    output: Path = (args.output or Path(f"events.{args.format}")).resolve()
    if output.exists() and not args.force:
        raise UsageError(f"{output} exists (use --force to replace it)")
    if not output.parent.is_dir():
        raise UsageError(f"no directory {output.parent}")
    time_range = None
    if args.since or args.start or args.end:
        time_range = options.time_range(args)
    store = options.open_local(args.store)
    try:
        count = store.export_events(str(output), args.format, time_range)
    except StoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    print(f"candor export: wrote {count:,} events to {output}")
    return 0
