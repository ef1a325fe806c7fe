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
the `telemetry` group and a check at `main`: the following layer is loaded (and attached) only
if recording turns out to be wanted after all (`candor.testing.capture_events`, a rebind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from candor.client.telemetry import INTERNAL_ERROR, INTERRUPTED, USAGE_ERROR

if TYPE_CHECKING:
    from collections.abc import Callable
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
    opted_out: _OptedOut | None = group.__dict__.get(_OPTED_OUT_ATTR)
    if opted_out is not None:
        if _records_nothing(telemetry):
            opted_out.telemetry = telemetry
            _declare_click_errors(telemetry)
            return group
        opted_out.undo(group)
    elif _records_nothing(telemetry) and not hasattr(group, _STATE_ATTR):
        _OptedOut(telemetry).attach(group)
        return group
    from candor.integrations._clicklike import attach

    attach(group, telemetry, click_flavour())
    return group


def _records_nothing(telemetry: Telemetry) -> bool:
    """The environment opts this execution out, no test captures its events, and no debug
    mode wants to say "off by ..." at the end of each run."""
    switches = telemetry.switches
    return telemetry._capture is None and not switches.debug and switches.decision() is not None


def _declare_click_errors(telemetry: Telemetry) -> None:
    # As _clicklike.attach does: a code the author declared (in the MRO) is kept.
    for exc_type, code in CLICK_ERROR_CODES:
        if telemetry.error_code_for(exc_type.__new__(exc_type)) == INTERNAL_ERROR:
            telemetry.declare_error(exc_type, code)


class _OptedOut:
    """An opted-out root: the `telemetry` group, and `main` checking whether to record after all.

    A root in this state is the plain program plus the `telemetry` group: nothing wraps its
    commands, so the run costs what the uninstrumented program costs.
    """

    __slots__ = ("original_main", "telemetry")

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.original_main: Callable[..., Any] | None = None

    def attach(self, group: click.Group) -> None:
        if TELEMETRY_COMMAND in group.commands:
            raise ValueError(f"{group.name!r} already has a {TELEMETRY_COMMAND!r} command")
        command = _telemetry_command(self.answer, bool(getattr(group, "chain", False)))
        setattr(command, _MANAGEMENT_ATTR, True)
        group.add_command(command)
        self.original_main = original_main = group.main

        def main(*args: Any, **kwargs: Any) -> Any:
            if _records_nothing(self.telemetry):
                return original_main(*args, **kwargs)
            instrument(group, self.telemetry)  # capturing now: follow this run after all
            return group.main(*args, **kwargs)

        setattr(group, "main", main)  # noqa: B010 - mypy forbids assigning to a method directly
        setattr(group, _OPTED_OUT_ATTR, self)
        _declare_click_errors(self.telemetry)

    def undo(self, group: click.Group) -> None:
        """Back to the plain program, for `attach` to instrument it fully."""
        setattr(group, "main", self.original_main)  # noqa: B010
        group.commands.pop(TELEMETRY_COMMAND, None)
        delattr(group, _OPTED_OUT_ATTR)

    def answer(self, action: str, as_json: bool, limit: int | None = None) -> None:
        from candor.integrations._clicklike import _answerer, _Instrumentation

        _answerer(_Instrumentation(None, self.telemetry, click_flavour()))(action, as_json, limit)


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
