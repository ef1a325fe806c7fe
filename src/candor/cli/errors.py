"""The one error type of every `candor` subcommand, and the exit statuses it carries.

A subcommand raises `CommandError("one line")`; the dispatcher (candor.cli.main) prints it once
as `candor NAME: one line` on stderr and exits with its status, the way Click's
`ClickException` works. No subcommand prints its own errors.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


class CommandError(Exception):
    """A subcommand cannot go on: `message` is one line, `status` the exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class UsageError(CommandError):
    """The command line asks for something that cannot be: exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)
