"""`candor publish`: write the public report (index.html, data.json, CSV) into a folder.

    candor publish --store events.duckdb --out public/ [--since 90d] [--min-installations 10]

Every figure rests on at least K distinct installations (see
`candor.analytics.publish.suppression`); the folder works offline and on any static host.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from candor.analytics.filters import QueryError, parse_since
from candor.analytics.publish.figures import gather, public_figures
from candor.analytics.publish.site import SiteError, write_site
from candor.analytics.publish.suppression import DEFAULT_MIN_INSTALLATIONS, LOWEST_MIN_INSTALLATIONS
from candor.cli import options
from candor.cli.errors import CommandError, UsageError
from candor.server.http.dashboard import CHART_LIBRARY, STATIC
from candor.storage.base import StoreError

DEFAULT_SINCE = "90d"
DEFAULT_TITLE = "Public telemetry report"
BUSY_HINT = "stop the collector, or publish from a copy of the file"


def build_parser() -> argparse.ArgumentParser:
    """The options of `candor publish`."""
    parser = argparse.ArgumentParser(
        prog="candor publish",
        description="Write a public, aggregate-only report of the collected telemetry as static "
        "files: index.html (works offline and on any static host), data.json and CSV. A figure "
        "resting on fewer than K distinct installations is never published.",
    )
    options.add_store_argument(parser)
    parser.add_argument(
        "--out", metavar="DIR", required=True,
        help="the folder to write (new, empty, or an earlier report)",
    )  # fmt: skip
    parser.add_argument(
        "--since", metavar="AGE", default=DEFAULT_SINCE,
        help="the last N days or weeks, e.g. 90d, 12w (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--min-installations", metavar="K", type=int, default=DEFAULT_MIN_INSTALLATIONS,
        help="publish only figures resting on at least K distinct installations "
        "(default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--title", default=DEFAULT_TITLE, help="the page's title")
    return parser


def publish(args: argparse.Namespace) -> list[str]:
    """Compute the figures and write the folder; returns the files written."""
    k = args.min_installations
    if k < LOWEST_MIN_INSTALLATIONS:
        least = LOWEST_MIN_INSTALLATIONS
        raise UsageError(f"--min-installations must be at least {least}")
    try:
        time_range = parse_since(args.since)
    except QueryError as error:
        raise UsageError(str(error)) from None
    store = options.open_local(args.store, busy_hint=BUSY_HINT)
    try:
        figures = public_figures(gather(store, time_range), time_range, k)
    except StoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    try:
        return write_site(Path(args.out), figures, args.title, STATIC / CHART_LIBRARY)
    except SiteError as error:
        raise CommandError(str(error)) from None


def main(argv: list[str]) -> int:
    """Entry point of `candor publish`; returns the exit status."""
    args = build_parser().parse_args(argv)
    files = publish(args)  # a CommandError is printed by the dispatcher
    print(f"candor publish: wrote {len(files)} files to {args.out} (open {args.out}/index.html)")
    return 0
