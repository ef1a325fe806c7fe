"""The commands of Click's `telemetry` group, built only when a run asks for one.

`candor.integrations.click` adds the `telemetry` group at every start of the host CLI, and
almost no run is a `telemetry` command: this module (decorators, options, parameter types)
is loaded when the group is first asked for a command, or at once for a root in chain mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from candor.integrations._clicklike import Answer

TELEMETRY_COMMAND = "telemetry"  # = candor.integrations.click's
LIMIT_HELP = "Show only the newest N events."


def chain_command(answer: Answer) -> click.Command:
    """For a root in chain mode, which may not hold groups: `telemetry ACTION [--json]`."""
    # json, which commands.py loads, is not needed by a run that does not record.
    from candor.client.commands import ACTIONS

    @click.command(name=TELEMETRY_COMMAND)
    @click.argument("action", type=click.Choice(ACTIONS))
    @click.option("--json", "as_json", is_flag=True, help="Print status or show as JSON.")
    @click.option("--limit", type=click.IntRange(min=1), help=LIMIT_HELP)
    def single(action: str, as_json: bool, limit: int | None) -> None:
        """See or change the anonymous usage telemetry this CLI sends."""
        answer(action, as_json, limit)

    return single


def telemetry_commands(answer: Answer) -> list[click.Command]:
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
