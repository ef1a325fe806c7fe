"""`candor policy`: print the Markdown telemetry policy generated from the schema.

    candor policy --cli your-cli --platform your-platform [--endpoint URL] > TELEMETRY.md

The text comes from `candor.policy.render_policy`, so a CLI's published policy always lists
exactly the fields its events carry. Standard library only: it needs no extra.
"""

from __future__ import annotations

import argparse
import sys

from candor.cli.errors import UsageError
from candor.policy import DEFAULT_SOURCE_MODULE, render_policy


def build_parser() -> argparse.ArgumentParser:
    """The options of `candor policy`."""
    parser = argparse.ArgumentParser(
        prog="candor policy",
        description="Print the Markdown telemetry policy generated from Candor's event schema.",
    )
    parser.add_argument(
        "--cli", default="your-cli", help="the command users type (default: %(default)s)"
    )
    parser.add_argument(
        "--platform",
        default="your-platform",
        help="the platform name: config in ~/.PLATFORM/, variables PLATFORM_TELEMETRY_* "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="where events are sent (default: https://telemetry.PLATFORM.com/v1/event)",
    )
    parser.add_argument(
        "--source-module",
        metavar="NAME",
        help=f"the code readers can inspect (default: {DEFAULT_SOURCE_MODULE})",
    )
    parser.add_argument(
        "--public-report",
        metavar="URL",
        help="where the report of `candor publish` is hosted: the policy links it",
    )
    return parser


def main(argv: list[str]) -> int:
    """Print the policy on stdout; a bad option is a one-line error and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        text = render_policy(
            cli=args.cli,
            platform=args.platform,
            endpoint=args.endpoint,
            source_module=args.source_module,
            public_report=args.public_report,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    sys.stdout.write(text)
    return 0
