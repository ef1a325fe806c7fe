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

How it follows a run without changing it: see `candor.integrations._clicklike`. A program
the environment opts out (DO_NOT_TRACK, `{P}_TELEMETRY_OPT_OUT`) records nothing, so it gets only
the `telemetry` group (whose commands load on use) and a check at `main`, decided from the
environment the `Telemetry` read (`_Switches`, the one copy of the rule): `_clicklike`, the
following layer, is loaded (and attached) only
if recording turns out to be wanted after all (`candor.testing.capture_events`, a rebind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from candor.client import _INTERRUPTED as INTERRUPTED
from candor.client import _USAGE_ERROR as USAGE_ERROR

if TYPE_CHECKING:
    from typing import Any

    from candor.client import Telemetry
    from candor.integrations._clicklike import Answer, Flavour

# = candor.integrations._clicklike's names: that module is not loaded by an opted-out run.
TELEMETRY_COMMAND = "telemetry"
_MANAGEMENT_ATTR = "_candor_management"
_STATE_ATTR = "_candor_instrumentation"
_OPTED_OUT_ATTR = "_candor_opted_out"  # on a root instrumented while the environment opts out

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
    opted_out: list[Any] | None = group.__dict__.get(_OPTED_OUT_ATTR)
    if opted_out is not None:
        if _records_nothing(telemetry):
            opted_out[0] = telemetry
            return group
        # Back to the plain program, for `attach` to instrument it fully.
        setattr(group, "main", opted_out[1])  # noqa: B010
        group.commands.pop(TELEMETRY_COMMAND, None)
        delattr(group, _OPTED_OUT_ATTR)
    elif _records_nothing(telemetry) and not hasattr(group, _STATE_ATTR):
        _attach_opted_out(group, telemetry)
        return group
    from candor.integrations._clicklike import attach

    attach(group, telemetry, click_flavour())
    return group


def _records_nothing(telemetry: Telemetry) -> bool:
    """The environment opts this execution out, no test captures its events, and no debug
    mode wants to say "off by ..." at the end of each run."""
    switches = telemetry.switches
    return telemetry._capture is None and not switches.debug and switches.decision() is not None


def _attach_opted_out(group: click.Group, telemetry: Telemetry) -> None:
    """An opted-out root: the `telemetry` group, and `main` checking whether to record after all.

    A root in this state is the plain program plus the `telemetry` group: nothing wraps its
    commands, so the run costs what the uninstrumented program costs. Closures rather than a
    class: creating a class costs each run more than the few lines here.
    """
    if TELEMETRY_COMMAND in group.commands:
        raise ValueError(f"{group.name!r} already has a {TELEMETRY_COMMAND!r} command")
    # [the Telemetry it answers for (a rebind replaces it), the plain program's main]
    state: list[Any] = [telemetry, group.main]
    original_main = group.main

    def answer(action: str, as_json: bool, limit: int | None = None) -> None:
        from candor.integrations._clicklike import _answerer, _Instrumentation

        _answerer(_Instrumentation(None, state[0], click_flavour()))(action, as_json, limit)

    def main(*args: Any, **kwargs: Any) -> Any:
        if _records_nothing(state[0]):
            return original_main(*args, **kwargs)
        instrument(group, state[0])  # capturing now: follow this run after all
        return group.main(*args, **kwargs)

    command = _telemetry_command(answer, bool(getattr(group, "chain", False)))
    setattr(command, _MANAGEMENT_ATTR, True)
    group.add_command(command)
    setattr(group, "main", main)  # noqa: B010 - mypy forbids assigning to a method directly
    setattr(group, _OPTED_OUT_ATTR, state)
    # Click's errors get their codes when the root is instrumented fully (`attach`): a run
    # that records nothing needs none.


def _echo(text: str, to_stderr: bool) -> None:
    click.echo(text, err=to_stderr)


def _telemetry_command(answer: Answer, chain_mode: bool) -> click.Command:
    """The `telemetry` group: enable, disable, status [--json], show [--json] [--limit N]."""
    if chain_mode:
        from candor.integrations.click_commands import chain_command

        return chain_command(answer)
    return _telemetry_group(answer)


def _telemetry_group(answer: Answer) -> click.Group:
    """The `telemetry` group; its commands are built when it is first asked for one.

    instrument() runs at every start of the host CLI, and almost no run is a `telemetry`
    command: building its four commands (decorators, options, parameter types), even loading
    the module that builds them (`candor.integrations.click_commands`), would cost each of
    them for nothing. A plain `click.Group` whose two lookups build the commands first, then
    give way to the class's own: a subclass would cost each run its creation.
    """
    group = click.Group(
        name=TELEMETRY_COMMAND, help="See or change the anonymous usage telemetry this CLI sends."
    )

    def build() -> None:
        if "get_command" in group.__dict__:  # the first lookup
            del group.get_command, group.list_commands
            from candor.integrations.click_commands import telemetry_commands

            for command in telemetry_commands(answer):
                group.add_command(command)

    def get_command(ctx: click.Context, cmd_name: str) -> click.Command | None:
        build()
        return group.get_command(ctx, cmd_name)

    def list_commands(ctx: click.Context) -> list[str]:
        build()
        return group.list_commands(ctx)

    setattr(group, "get_command", get_command)  # noqa: B010
    setattr(group, "list_commands", list_commands)  # noqa: B010
    return group


_flavours: list[Flavour] = []


def click_flavour() -> Flavour:
    """Click as `_clicklike` sees it (made once, when first needed: not by an opted-out run)."""
    if not _flavours:
        from candor.integrations._clicklike import Flavour

        _flavours.append(
            Flavour(
                group_types=(click.Group,),
                exit_type=click.exceptions.Exit,
                error_codes=CLICK_ERROR_CODES,
                echo=_echo,
                make_telemetry_command=_telemetry_command,
            )
        )
    return _flavours[0]
