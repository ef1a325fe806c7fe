"""`candor export`: the raw events as Parquet or CSV, for analysis elsewhere.

The file holds installation IDs, like the store: handle it as you handle the store. The store
writes it straight from its engine (DuckDB: `COPY … TO`), so even millions of events take seconds.
`-o -` writes to standard output (through a private temporary file: the engine writes files).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from candor.cli import options
from candor.cli.errors import CommandError, UsageError
from candor.storage.base import EXPORT_FORMATS, StoreError

if TYPE_CHECKING:
    from candor.analytics.filters import TimeRange

FORMATS = EXPORT_FORMATS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor export",
        description="Write the raw events (the nine fields and received_at) to a file.",
    )
    options.add_store_argument(parser, make_run_fallback=True)
    parser.add_argument("--format", choices=sorted(FORMATS), required=True)
    parser.add_argument(
        "--output", "-o", help="the file, or - for standard output (default events.FORMAT)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument(
        "--since", metavar="AGE", help="only the last whole days, e.g. 7d, 4w (default: all)"
    )
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (UTC)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (UTC)")
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `candor export`; returns the exit status."""
    return export(build_parser().parse_args(argv))


def export(args: argparse.Namespace) -> int:
    """Write the file (or standard output); the count goes to stdout, or stderr with `-o -`."""
    time_range = None
    if args.since or args.start or args.end:
        time_range = options.time_range(args)
    if args.output == "-":
        if args.format == "parquet" and sys.stdout.isatty():
            raise UsageError(
                "Parquet is binary: redirect it (-o - > events.parquet) or give -o FILE"
            )
        with tempfile.TemporaryDirectory(prefix="candor-export-") as folder:
            staged = Path(folder) / f"events.{args.format}"
            count = write(args, str(staged), time_range)
            try:
                with staged.open("rb") as file:
                    shutil.copyfileobj(file, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            except BrokenPipeError:  # `| head`: the reader wanted no more
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise CommandError("standard output was closed before the end") from None
        print(f"candor export: wrote {count:,} events to standard output", file=sys.stderr)
        return 0
    output = Path(args.output or f"events.{args.format}").resolve()
    if output.exists() and not args.force:
        raise UsageError(f"{output} exists (use --force to replace it)")
    if not output.parent.is_dir():
        raise UsageError(f"no directory {output.parent}")
    count = write(args, str(output), time_range)
    print(f"candor export: wrote {count:,} events to {output}")
    return 0


def write(args: argparse.Namespace, path: str, time_range: TimeRange | None) -> int:
    """Export the store's events of `time_range` to the file `path`; how many were written."""
    store = options.open_local(args.store, make_run_fallback=True)
    try:
        return store.export_events(path, args.format, time_range)
    except StoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
