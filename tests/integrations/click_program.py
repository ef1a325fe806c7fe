"""The sample Click app as a real process: `python -m tests.integrations.click_program MODE ...`.

MODE is `plain` or `instrumented` (telemetry configured from the process's environment). The
extra `wait` command prints "ready" and blocks on stdin, so a test can press Ctrl-C (SIGINT).
"""

from __future__ import annotations

import signal
import sys

import click

from candor.client import Telemetry
from candor.integrations.click import instrument
from tests.integrations.apps import APP_NAME, ERROR_CODES, VERSION, make_click_app


def main() -> None:
    # A shell running `make test &` starts its jobs with SIGINT ignored, and Python keeps an
    # inherited SIG_IGN: without this a test's Ctrl-C would never reach the program.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    mode, argv = sys.argv[1], sys.argv[2:]
    app = make_click_app()

    @app.command()
    def wait() -> None:
        """Block until interrupted."""
        click.echo("ready")
        sys.stdout.flush()
        sys.stdin.read()

    if mode == "instrumented":
        telemetry = Telemetry(
            platform="acme",
            cli_name=APP_NAME,
            cli_version=VERSION,
            endpoint="https://t.acme.example/v1/event",
            policy_url="https://acme.example/telemetry",
            error_codes=ERROR_CODES,
        )
        instrument(app, telemetry)
    app.main(argv, prog_name=APP_NAME)


if __name__ == "__main__":
    main()
