"""`candor report`: the policy's questions answered as terminal tables, or CSV/JSON for scripts.

Reads a store file directly (`--store`), or, while `candor serve` holds that file, the running
collector's stats API (`--url URL --token TOKEN`): both print the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from candor.analytics import queries
from candor.analytics.answers import envelope, to_jsonable
from candor.analytics.filters import QueryError
from candor.analytics.publish.marks import public_marks
from candor.analytics.report import PUBLIC, TOP_ROWS, print_tables, table_names, to_csv, to_json
from candor.cli import options
from candor.cli.errors import CommandError, UsageError
from candor.storage.base import StoreError

HTTP_TIMEOUT_S = 60  # a year of a large store on a busy collector is still a few seconds
BUSY_HINT = ": candor report --url http://HOST:PORT --token TOKEN"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor report",
        description="Which features are most used, where the time goes, what fails, who "
        "uses which version: aggregated answers from the collected events.",
    )
    source = parser.add_argument_group("where the events are")
    options.add_store_argument(source, make_run_fallback=True)
    source.add_argument("--url", help="a running collector, e.g. http://127.0.0.1:8787")
    source.add_argument(
        "--token", help="its admin token (default: $CANDOR_ADMIN_TOKEN); needed with --url"
    )
    options.add_range_arguments(parser)
    options.add_filter_arguments(parser)
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON (the stats API's form)")
    shape.add_argument(
        "--csv",
        action="store_true",
        help="print CSV: one table with --table NAME, else every table after a '# name' line",
    )
    parser.add_argument(
        "--section",
        action="append",
        choices=queries.SECTIONS,
        help="only this part of the report (repeatable; default all)",
    )
    parser.add_argument("--table", action="append", help="with --csv: only this table (repeatable)")
    parser.add_argument(
        "--all",
        action="store_true",
        dest="all_rows",
        help=f"every row of the long tables (default: the top {TOP_ROWS} of each)",
    )
    return parser


def fetch_remote(
    url: str, token: str, params: dict[str, str], route: str = "summary"
) -> dict[str, Any]:
    """The envelope from a collector's /v1/stats/summary (or another stats route)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:
        raise UsageError(f"--url {url}: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url {url}: give the collector's address, like http://127.0.0.1:8787")
    address = f"{url.rstrip('/')}/v1/stats/{route}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(address, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            body: dict[str, Any] = json.load(response)
            return body
    except urllib.error.HTTPError as error:
        if error.code == 401:
            raise CommandError(f"{url} refused the admin token (401)") from None
        try:
            message = json.load(error).get("message", error.reason)
        except ValueError:
            message = error.reason
        raise CommandError(f"{url} answered {error.code}: {message}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise CommandError(f"cannot read {url}: {reason}") from None


def remote_params(args: argparse.Namespace) -> dict[str, str]:
    """The query parameters of the stats API for these arguments.

    `--since` goes as whole days (24h → 1d, 4w → 28d): the API's `since` takes days or weeks.
    """
    since = f"{options.time_range(args).days}d" if args.since else None
    pairs = {
        "since": since, "from": args.start, "to": args.end, "command": args.command,
        "cli_version": args.cli_version, "os_arch": args.os_arch, "interactive": args.runs,
        "sections": ",".join(args.section) if args.section else None,
    }  # fmt: skip
    return {key: value for key, value in pairs.items() if value}


def collect(args: argparse.Namespace) -> dict[str, Any]:
    """The report's envelope, from the store file or from the collector."""
    sections = tuple(args.section) if args.section else queries.SECTIONS
    time_range, filters = options.time_range(args), options.filters(args)
    if args.url:
        token = args.token or os.environ.get("CANDOR_ADMIN_TOKEN", "")
        if not token:
            raise UsageError("--url needs --token (or $CANDOR_ADMIN_TOKEN)")
        report = fetch_remote(args.url, token, remote_params(args))
        if not args.csv:  # which rows `candor publish` would hide, for the tables and JSON
            params = {k: v for k, v in remote_params(args).items() if k != "sections"}
            report[PUBLIC] = fetch_remote(args.url, token, params, "public")["data"]
        return report
    store = options.open_local(args.store, busy_hint=BUSY_HINT, make_run_fallback=True)
    try:
        answers = queries.summary(store, time_range, filters, sections)
        report = envelope(time_range, filters, answers)
        if not args.csv:
            report[PUBLIC] = to_jsonable(public_marks(store, time_range, filters))
        return report
    except QueryError as error:
        raise UsageError(str(error)) from None
    except StoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()


def main(argv: list[str]) -> int:
    """Entry point of `candor report`; returns the exit status (errors: CommandError)."""
    args = build_parser().parse_args(argv)
    if args.table and not args.csv:
        raise UsageError("--table goes with --csv")
    report = collect(args)
    if args.json:
        sys.stdout.write(to_json(report))
    elif args.csv:
        unknown = sorted(set(args.table or ()) - set(table_names(report)))
        if unknown:
            known = ", ".join(table_names(report))
            raise UsageError(f"no table {unknown[0]!r}; tables: {known}")
        sys.stdout.write(to_csv(report, args.table))
    else:
        print_tables(report, all_rows=args.all_rows)
    return 0
