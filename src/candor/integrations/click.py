"""Telemetry for a Click (or Typer) program in one line: `instrument(cli, telemetry)`.

    from candor.client import Telemetry
    from candor.integrations.click import instrument

    telemetry = Telemetry(platform="your-platform", cli_name="your-cli", ...)
    instrument(cli, telemetry)   # cli is the root click.Group; call it as before: cli()

For Typer, instrument the Click group Typer builds: `cli = typer.main.get_command(app)`.

What it does:

- every run of the program is one `telemetry.session()`; its command is the path of declared
  Command names Click resolved ("deploy", "db migrate"), never anything from argv. A usage error
  before any subcommand resolved is recorded under the root group's name;
- Click's own errors get codes: `click.UsageError` (bad option, bad parameter, no such command)
  is "usage_error", `click.Abort` and Ctrl-C are "interrupted"; the author's `error_codes` win;
- a run that only shows `--help`/`--version` (or answers shell completion) records nothing:
  no command ran;
- it adds the `telemetry` group (`enable`, `disable`, `status [--json]`), which records nothing
  (a root in chain mode gets one `telemetry ACTION [--json]` command instead);
- output and exit status stay exactly those of the uninstrumented program.

How: Click keeps no record of the commands it resolved, and in standalone mode it turns every
exception into `sys.exit` before a wrapper around `main` could see it. So `instrument` wraps a
few methods on the *instances* it meets (never on Click's classes): the root's `main`,
`make_context` and `invoke`, and, as Click resolves them, each command's `invoke` and each
group's `resolve_command`. The wrappers only observe; per-run state lives in `ctx.meta`, which
Click shares across one invocation's contexts, so a group shared with another program is
unaffected there.
"""

from __future__ import annotations

import contextvars
import sys
from typing import TYPE_CHECKING, Any

import click

from candor.client.commands import ACTIONS
from candor.client.commands import run as run_telemetry_command
from candor.client.event import normalize_command
from candor.schema import INTERNAL_ERROR, INTERRUPTED, USAGE_ERROR

if TYPE_CHECKING:
    from candor.client import Telemetry
    from candor.client.telemetry import Session

__all__ = ["instrument"]

TELEMETRY_GROUP = "telemetry"
_STATE_ATTR = "_candor_instrumentation"  # on the root group: makes instrument() idempotent
_WATCHED_ATTR = "_candor_watched"  # on each command whose methods are wrapped
_META_KEY = "candor.run"  # ctx.meta key of the current run's _Run
_MANAGEMENT_ATTR = "_candor_management"  # marks the added `telemetry` command

# The run being started by the instrumented `main`, handed to the root's `make_context` (Click
# passes nothing of ours in between). A ContextVar, so threads and nested programs stay apart.
_STARTING: contextvars.ContextVar[_Run | None] = contextvars.ContextVar(
    "candor_click_run", default=None
)

# Click's own exceptions and the code each is recorded as, unless the author declared one.
CLICK_ERROR_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (click.UsageError, USAGE_ERROR),
    (click.Abort, INTERRUPTED),
)


class _Instrumentation:
    """What `instrument` attached to one root group."""

    __slots__ = ("root", "telemetry", "telemetry_command")

    def __init__(self, root: click.Group, telemetry: Telemetry) -> None:
        self.root = root
        self.telemetry = telemetry
        self.telemetry_command = _make_telemetry_command(self)


class _Run:
    """What one invocation resolved and how it ended, as the wrappers saw it."""

    __slots__ = ("exception", "invoked", "management", "path")

    def __init__(self) -> None:
        self.management = False  # `telemetry ...` was resolved: nothing is recorded
        self.path: list[click.Command] = []  # resolved commands below the root, in order
        self.invoked: click.Command | None = None  # the last command whose invoke() began
        self.exception: BaseException | None = None  # what escaped the root, unhandled yet


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
    state: _Instrumentation | None = getattr(group, _STATE_ATTR, None)
    if state is not None:
        state.telemetry = telemetry
    else:
        if TELEMETRY_GROUP in group.commands:
            raise ValueError(f"{group.name!r} already has a {TELEMETRY_GROUP!r} command")
        state = _Instrumentation(group, telemetry)
        group.add_command(state.telemetry_command)
        _watch(group)
        _wrap_root(group, state)
        setattr(group, _STATE_ATTR, state)
    for exc_type, code in CLICK_ERROR_CODES:
        # error_code_for() answers internal_error only when nothing in the MRO is declared, so
        # a code the author gave (to click.UsageError, or a base class) is kept. An instance
        # made without __init__ is enough for a lookup by class.
        if telemetry.error_code_for(exc_type.__new__(exc_type)) == INTERNAL_ERROR:
            telemetry.declare_error(exc_type, code)
    return group


def _wrap_root(root: click.Group, state: _Instrumentation) -> None:
    original_main = root.main
    original_make_context = root.make_context

    def main(*args: Any, **kwargs: Any) -> Any:
        run = _Run()
        token = _STARTING.set(run)
        try:
            with state.telemetry.session() as session:
                try:
                    result = original_main(*args, **kwargs)
                except BaseException as exc:
                    _conclude(state, run, session, exc)
                    raise
                _conclude(state, run, session, None)
                return result
        finally:
            _STARTING.reset(token)

    def make_context(
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        run = _STARTING.get()
        if run is None or parent is not None:  # not our main, or used as another's subcommand
            return original_make_context(info_name, args, parent=parent, **extra)
        _STARTING.set(None)  # a nested run of the same group starts its own
        try:
            ctx = original_make_context(info_name, args, parent=parent, **extra)
        except BaseException as exc:  # root options: --bogus, --help, --version
            run.exception = exc
            raise
        ctx.meta[_META_KEY] = run
        return ctx

    setattr(root, "main", main)  # noqa: B010 - mypy forbids assigning to a method directly
    setattr(root, "make_context", make_context)  # noqa: B010


def _watch(command: click.Command) -> None:
    """Wrap `command.invoke` (and a group's `resolve_command`) to report to the current run."""
    if command.__dict__.get(_WATCHED_ATTR):
        return
    original_invoke = command.invoke

    def invoke(ctx: click.Context) -> Any:
        run: _Run | None = ctx.meta.get(_META_KEY)
        if run is None:
            return original_invoke(ctx)
        run.invoked = ctx.command
        if ctx.parent is not None:
            return original_invoke(ctx)
        try:
            return original_invoke(ctx)
        except BaseException as exc:  # seen before Click turns it into a message and sys.exit
            run.exception = exc
            raise

    try:
        setattr(command, "invoke", invoke)  # noqa: B010
        setattr(command, _WATCHED_ATTR, True)
    except AttributeError:  # a command class with __slots__: it then counts as its parent
        return
    if isinstance(command, click.Group):
        _watch_resolution(command)


def _watch_resolution(group: click.Group) -> None:
    original_resolve = group.resolve_command

    def resolve_command(
        ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = original_resolve(ctx, args)
        run: _Run | None = ctx.meta.get(_META_KEY)
        if run is None or command is None:
            return name, command, rest
        if getattr(command, _MANAGEMENT_ATTR, False):
            run.management = True
        # In chain mode the resolved commands are siblings, not a path: the group is the command.
        if not group.chain:
            run.path.append(command)
            _watch(command)
        return name, command, rest

    setattr(group, "resolve_command", resolve_command)  # noqa: B010


def _conclude(
    state: _Instrumentation, run: _Run, session: Session, exc: BaseException | None
) -> None:
    """Name the session's command and failure from what the run resolved and raised."""
    if run.management:
        session.command = None  # `telemetry enable|disable|status` record nothing
        return
    deepest: click.Command = run.path[-1] if run.path else state.root
    noted = run.exception
    if noted is not None and not _clean_exit(noted):
        session.command = _command_path(state.root, run.path)
        session.fail(state.telemetry.error_code_for(noted))
        return
    if exc is not None and not _clean_exit(exc):
        session.command = _command_path(state.root, run.path)
        return  # the session classifies it (e.g. KeyboardInterrupt before parsing)
    # A clean end: a success if the command itself began, else only help or a version was
    # shown (or a completion answered) and no command ran.
    session.command = _command_path(state.root, run.path) if run.invoked is deepest else None


def _clean_exit(exc: BaseException) -> bool:
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code == 0
    return isinstance(exc, SystemExit) and exc.code in (0, None)


def _command_path(root: click.Group, path: list[click.Command]) -> str | None:
    names = [command.name for command in path] if path else [root.name]
    if any(not name for name in names):
        return None
    return normalize_command([name for name in names if name])


def _make_telemetry_command(state: _Instrumentation) -> click.Command:
    """The `telemetry` group: enable, disable, status [--json]. It records nothing."""

    def answer(action: str, as_json: bool = False) -> None:
        text, code = run_telemetry_command(state.telemetry, action, as_json=as_json)
        # On success the answer is for stdout; otherwise it is a one-line error for stderr.
        click.echo(text, err=code != 0)
        if code:
            sys.exit(code)

    command: click.Command
    if state.root.chain:
        # A group in chain mode may not hold groups: one command takes the action instead.
        @click.command(name=TELEMETRY_GROUP)
        @click.argument("action", type=click.Choice(ACTIONS))
        @click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
        def single(action: str, as_json: bool) -> None:
            """See or change the anonymous usage telemetry this CLI sends."""
            answer(action, as_json=as_json)

        command = single
    else:

        @click.group(name=TELEMETRY_GROUP)
        def group() -> None:
            """See or change the anonymous usage telemetry this CLI sends."""

        @group.command()
        def enable() -> None:
            """Turn telemetry on (it is on by default)."""
            answer("enable")

        @group.command()
        def disable() -> None:
            """Turn telemetry off and delete events not yet sent."""
            answer("disable")

        @group.command()
        @click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
        def status(as_json: bool) -> None:
            """Show whether telemetry is on and why, its files, and what is queued."""
            answer("status", as_json=as_json)

        command = group
    setattr(command, _MANAGEMENT_ATTR, True)
    return command
