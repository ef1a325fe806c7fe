"""`your-cli`: the demo CLI of the fictional Your Platform, instrumented with Candor.

It is the example the README walks through. The program, `candor.demo.commands`, is a plain
Click group that knows nothing of telemetry; this module records its every command with two
lines (`Telemetry(...)` and `instrument(cli, telemetry)`) and declares the error codes worth
counting for its failures.

    your-cli init            write a starter your-platform.toml here
    your-cli build           check your-platform.toml and pack the project into dist/
    your-cli deploy TARGET   deploy to TARGET (e.g. staging), --env KEY=VALUE, --dry-run
    your-cli db migrate      apply the project's database migrations
    your-cli info            print the version and platform (the benchmark's trivial command)
    your-cli telemetry ...   enable, disable, status [--json]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from candor.client import Telemetry
from candor.demo.commands import (
    CLI_NAME,
    PLATFORM,
    VERSION,
    ConfirmationRequired,
    InvalidManifest,
    ManifestExists,
    ManifestNotFound,
    cli,
)
from candor.integrations.click import instrument

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ERROR_CODES", "cli", "create_telemetry", "main"]

ENDPOINT = "https://telemetry.your-platform.com/v1/event"
POLICY_URL = "https://your-platform.com/telemetry"

# What the telemetry reports for each failure: a code, never the message (it holds paths).
ERROR_CODES: dict[type[BaseException], str] = {
    ManifestNotFound: "manifest_not_found",
    InvalidManifest: "invalid_manifest",
    ManifestExists: "manifest_exists",
    ConfirmationRequired: "confirmation_required",
}


def create_telemetry(
    environ: Mapping[str, str] | None = None, home: str | None = None
) -> Telemetry:
    """your-cli's Telemetry; `environ` and `home` default to the process's own (tests pass them)."""
    return Telemetry(
        platform=PLATFORM,
        cli_name=CLI_NAME,
        cli_version=VERSION,
        endpoint=ENDPOINT,
        policy_url=POLICY_URL,
        error_codes=ERROR_CODES,
        environ=environ,
        home=home,
    )


def main(argv: list[str] | None = None) -> None:
    """The `your-cli` console script."""
    instrument(cli, create_telemetry())
    cli.main(args=argv, prog_name=CLI_NAME)
