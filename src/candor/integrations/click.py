"""Telemetry for a Click program in one line: `instrument(cli, telemetry)`.

    from candor.client import Telemetry
    from candor.integrations.click import instrument

    telemetry = Telemetry(platform="your-platform", cli_name="your-cli", ...)
    instrument(cli, telemetry)   # cli is the root click.Group; call it as before: cli()

(Typer 0.2x ships its own fork of Click: use `candor.integrations.typer`.)

What it does:

- every run of the program is one `telemetry.session()`; its command is the path of declared
  Command names Click resolved ("deploy", "db migrate"), never anything from argv: not an
  argument, not the alias or spelling the user typed. A usage error before any subcommand
  resolved is recorded under the root group's name;
- Click's own errors get codes: `click.UsageError` (bad option, bad parameter, no such command)
  is "usage_error", `click.Abort` and Ctrl-C are "interrupted"; the author's `error_codes` win;
- a run that only shows `--help`/`--version` (or answers shell completion) records nothing:
  no command ran;
- it adds the `telemetry` group (`enable`, `disable`, `status [--json]`), which records nothing
  (a root in chain mode gets one `telemetry ACTION [--json]` command instead);
- output and exit status stay exactly those of the uninstrumented program.

How it follows a run without changing it: see `candor.integrations._clicklike`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from candor.client.telemetry import INTERRUPTED, USAGE_ERROR
from candor.integrations._clicklike import TELEMETRY_COMMAND, Flavour, attach

if TYPE_CHECKING:
    from candor.client import Telemetry
    from candor.integrations._clicklike import Answer

__all__ = ["instrument"]

# Click's own exceptions and the code each is recorded as, unless the author declared one.
CLICK_ERROR_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (click.UsageError, USAGE_ERROR),
    (click.Abort, INTERRUPTED),
)


def instrument(group: click.Group, telemetry: Telemetry) -> click.Group:
    """Record every run of `group` with `telemetry` and add its `telemetry` command group.

    Call it once on the root group, after its commands are declared (commands added later are
    recorded too). Calling it again rebinds the group to another `Telemetry` (handy in tests).
    Returns `group`, unchanged in behaviour: same output, same exit status.
    """
    if not isinstance(group, click.Group):
        raise TypeError(
            "instrument() needs the root click.Group; for a single command, wrap its body in "
            "telemetry.session(...)"
        )
    attach(group, telemetry, CLICK)
    return group


def _echo(text: str, to_stderr: bool) -> None:
    click.echo(text, err=to_stderr)


LIMIT_HELP = "Show only the newest N events."


def _telemetry_command(answer: Answer, chain_mode: bool) -> click.Command:
    """The `telemetry` group: enable, disable, status [--json], show [--json] [--limit N]."""
    if chain_mode:
        # json, which commands.py loads, is not needed by a run that does not record.
        from candor.client.commands import ACTIONS

        # A group in chain mode may not hold groups: one command takes the action instead.
        @click.command(name=TELEMETRY_COMMAND)
        @click.argument("action", type=click.Choice(ACTIONS))
        @click.option("--json", "as_json", is_flag=True, help="Print status or show as JSON.")
        @click.option("--limit", type=click.IntRange(min=1), help=LIMIT_HELP)
        def single(action: str, as_json: bool, limit: int | None) -> None:
            """See or change the anonymous usage telemetry this CLI sends."""
            answer(action, as_json, limit)

        return single

    return _TelemetryGroup(answer)


class _TelemetryGroup(click.Group):
    """The `telemetry` group; its commands are built when it is first asked for one.

    instrument() runs at every start of the host CLI, and almost no run is a `telemetry`
    command: building its four commands (decorators, options, parameter types) would cost
    each of them tens of microseconds for nothing.
    """

    def __init__(self, answer: Answer) -> None:
        super().__init__(
            name=TELEMETRY_COMMAND,
            help="See or change the anonymous usage telemetry this CLI sends.",
        )
        self._answer: Answer | None = answer

    def _build(self) -> None:
        answer, self._answer = self._answer, None
        if answer is not None:
            for command in _telemetry_commands(answer):
                self.add_command(command)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._build()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._build()
        return super().list_commands(ctx)


def _telemetry_commands(answer: Answer) -> list[click.Command]:
    """enable, disable, status [--json], show [--json] [--limit N]."""

    @click.command()
    def enable() -> None:
        """Turn telemetry on (it is on by default)."""
        answer("enable", False, None)

    @click.command()
    def disable() -> None:
        """Turn telemetry off and delete events not yet sent and the record of sent ones."""
        answer("disable", False, None)

    @click.command()
    @click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
    def status(as_json: bool) -> None:
        """Show whether telemetry is on and why, its files, and what is queued."""
        answer("status", as_json, None)

    @click.command()
    @click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
    @click.option("--limit", type=click.IntRange(min=1), metavar="N", help=LIMIT_HELP)
    def show(as_json: bool, limit: int | None) -> None:
        """List the events this machine sent and those still queued, newest first."""
        answer("show", as_json, limit)

    return [enable, disable, status, show]


CLICK = Flavour(
    group_types=(click.Group,),
    exit_type=click.exceptions.Exit,
    error_codes=CLICK_ERROR_CODES,
    echo=_echo,
    make_telemetry_command=_telemetry_command,
)
