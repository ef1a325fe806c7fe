"""What the Click and Typer integrations share: following one run of a Click-shaped program.

Click (and Typer's vendored fork of it) keeps no record of the commands it resolved, and in
standalone mode turns every exception into `sys.exit` before a wrapper around `main` could see
it. So `attach` wraps a few methods on the *instances* it meets, never on the library's
classes: the root's `main`, `make_context` and `invoke`, and, as they are resolved, each
command's `invoke` and each group's `resolve_command`. The wrappers only observe. Per-run state
lives in `ctx.meta`, which one invocation's contexts share, so a command object that is also
part of an uninstrumented program behaves exactly as before there.

A `Flavour` says what differs between the libraries: the exception classes, the group classes,
how to print, how to build the `telemetry` command.
"""

from __future__ import annotations

import sys
import threading  # loaded by Click itself: free here, unlike contextvars (a C extension)
from typing import TYPE_CHECKING, Any

from candor.client import _INTERNAL_ERROR as INTERNAL_ERROR

if TYPE_CHECKING:
    from collections.abc import Callable

    from candor.client import Telemetry
    from candor.client import _Session as Session

    # (action, as_json, limit): print the answer, exit on failure
    Answer = Callable[[str, bool, int | None], None]

TELEMETRY_COMMAND = "telemetry"
_STATE_ATTR = "_candor_instrumentation"  # on the root: makes attach() idempotent
_WATCHED_ATTR = "_candor_watched"  # on each command whose methods are wrapped
_MANAGEMENT_ATTR = "_candor_management"  # marks the added `telemetry` command
_META_KEY = "candor.run"  # ctx.meta key of the current run's _Run

# The run being started by the instrumented `main`, handed to the root's `make_context` (the
# library passes nothing of ours in between), as `_STARTING.run`. Thread-local, so threads stay
# apart; `main` restores the previous value, so nested runs do too. (A ContextVar would also
# separate asyncio tasks, but nothing can switch tasks between `main` and `make_context`.)
_STARTING = threading.local()


def _starting() -> _Run | None:
    run: _Run | None = getattr(_STARTING, "run", None)
    return run


class Flavour:
    """What one Click-shaped library looks like to the wrappers."""

    __slots__ = (
        "echo", "error_codes", "exit_type", "group_types", "lazy_telemetry_command",
        "make_telemetry_command",
    )  # fmt: skip

    def __init__(
        self,
        *,
        group_types: tuple[type, ...],
        exit_type: type[BaseException],
        error_codes: tuple[tuple[type[BaseException], str], ...],
        echo: Callable[[str, bool], None],
        make_telemetry_command: Callable[[Answer, bool], Any],
        lazy_telemetry_command: bool = False,
    ) -> None:
        self.group_types = group_types  # classes whose instances resolve subcommands
        self.exit_type = exit_type  # the `ctx.exit()` exception, with an `exit_code`
        self.error_codes = error_codes  # the library's own exceptions → error codes
        self.echo = echo  # (text, to_stderr)
        self.make_telemetry_command = make_telemetry_command  # (answer, chain_mode) → command
        # True: the command is made when the root is first asked for it (or for its list)
        self.lazy_telemetry_command = lazy_telemetry_command


class _Instrumentation:
    """What `attach` put on one root."""

    __slots__ = ("flavour", "root", "telemetry")

    def __init__(self, root: Any, telemetry: Telemetry, flavour: Flavour) -> None:
        self.root = root
        self.telemetry = telemetry
        self.flavour = flavour


class _Run:
    """What one invocation resolved and how it ended, as the wrappers saw it."""

    __slots__ = ("exception", "invoked", "management", "path")

    def __init__(self) -> None:
        self.management = False  # `telemetry ...` was resolved: nothing is recorded
        self.path: list[Any] = []  # resolved commands below the root, in order
        self.invoked: object = None  # the last command whose invoke() began
        self.exception: BaseException | None = None  # what escaped the root, unhandled yet


def attach(root: Any, telemetry: Telemetry, flavour: Flavour) -> None:
    """Instrument `root` (a group of `flavour`) once; later calls rebind it to `telemetry`."""
    state: _Instrumentation | None = getattr(root, _STATE_ATTR, None)
    if state is not None:
        state.telemetry = telemetry
    else:
        if TELEMETRY_COMMAND in root.commands:
            raise ValueError(f"{root.name!r} already has a {TELEMETRY_COMMAND!r} command")
        state = _Instrumentation(root, telemetry, flavour)
        if flavour.lazy_telemetry_command:
            _add_telemetry_command_lazily(root, state)
        else:
            _add_telemetry_command(root, state)
        _watch(root, flavour)
        _wrap_root(root, state)
        setattr(root, _STATE_ATTR, state)
    for exc_type, code in flavour.error_codes:
        # error_code_for() answers internal_error only when nothing in the MRO is declared, so
        # a code the author gave (to UsageError, or a base class) is kept. An instance made
        # without __init__ is enough for a lookup by class.
        if telemetry.error_code_for(exc_type.__new__(exc_type)) == INTERNAL_ERROR:
            telemetry.declare_error(exc_type, code)


def _add_telemetry_command(root: Any, state: _Instrumentation) -> None:
    command = state.flavour.make_telemetry_command(
        _answerer(state), bool(getattr(root, "chain", False))
    )
    setattr(command, _MANAGEMENT_ATTR, True)
    root.add_command(command)


def _add_telemetry_command_lazily(root: Any, state: _Instrumentation) -> None:
    """Add the `telemetry` command when the root is first asked for it or for its commands.

    Making Typer's sub-app (signatures, parameters, four commands) costs a run ~3.6 M
    instructions (~0.8 ms) that almost no run uses. The library finds a subcommand with
    `get_command` and lists them (help, suggestions, completion) with `list_commands`: both
    add the command first, then give way to the class's own methods.
    """
    original_get, original_list = root.get_command, root.list_commands

    def add() -> None:
        if "get_command" in root.__dict__:  # not added yet
            del root.get_command, root.list_commands
            _add_telemetry_command(root, state)

    def get_command(ctx: Any, cmd_name: str) -> Any:
        if cmd_name == TELEMETRY_COMMAND:
            add()
        return original_get(ctx, cmd_name)

    def list_commands(ctx: Any) -> list[str]:
        add()
        result: list[str] = original_list(ctx)
        return result

    setattr(root, "get_command", get_command)  # noqa: B010
    setattr(root, "list_commands", list_commands)  # noqa: B010


def _answerer(state: _Instrumentation) -> Answer:
    def answer(action: str, as_json: bool, limit: int | None = None) -> None:
        # Imported here: it loads json, which a run that does not record never needs.
        from candor.client.commands import run as run_telemetry_command

        text, code = run_telemetry_command(state.telemetry, action, as_json=as_json, limit=limit)
        # On success the answer is for stdout; otherwise it is a one-line error for stderr.
        state.flavour.echo(text, code != 0)
        if code:
            sys.exit(code)

    return answer


def _wrap_root(root: Any, state: _Instrumentation) -> None:
    original_main = root.main
    original_make_context = root.make_context

    def main(*args: Any, **kwargs: Any) -> Any:
        run = _Run()
        previous = _starting()
        _STARTING.run = run
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
            _STARTING.run = previous

    def make_context(
        info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        run = _starting()
        if run is None or parent is not None:  # not our main, or used as another's subcommand
            return original_make_context(info_name, args, parent=parent, **extra)
        _STARTING.run = None  # a nested run of the same root starts its own
        try:
            ctx = original_make_context(info_name, args, parent=parent, **extra)
        except BaseException as exc:  # root options: --bogus, --help, --version
            run.exception = exc
            raise
        ctx.meta[_META_KEY] = run
        return ctx

    setattr(root, "main", main)  # noqa: B010 - mypy forbids assigning to a method directly
    setattr(root, "make_context", make_context)  # noqa: B010


def _watch(command: Any, flavour: Flavour) -> None:
    """Wrap `command.invoke` (and a group's `resolve_command`) to report to the current run."""
    if command.__dict__.get(_WATCHED_ATTR):
        return
    original_invoke = command.invoke

    def invoke(ctx: Any) -> Any:
        run: _Run | None = ctx.meta.get(_META_KEY)
        if run is None:
            return original_invoke(ctx)
        run.invoked = ctx.command
        if ctx.parent is not None:
            return original_invoke(ctx)
        try:
            return original_invoke(ctx)
        except BaseException as exc:  # seen before the library turns it into sys.exit
            run.exception = exc
            raise

    try:
        setattr(command, "invoke", invoke)  # noqa: B010
        setattr(command, _WATCHED_ATTR, True)
    except AttributeError:  # a command class with __slots__: it then counts as its parent
        return
    if isinstance(command, flavour.group_types):
        _watch_resolution(command, flavour)


def _watch_resolution(group: Any, flavour: Flavour) -> None:
    original_resolve = group.resolve_command

    def resolve_command(ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = original_resolve(ctx, args)
        run: _Run | None = ctx.meta.get(_META_KEY)
        if run is None or command is None:
            return name, command, rest
        if getattr(command, _MANAGEMENT_ATTR, False):
            run.management = True
        # In chain mode the resolved commands are siblings, not a path: the group is the command.
        if not getattr(group, "chain", False):
            run.path.append(command)
            _watch(command, flavour)
        return name, command, rest

    setattr(group, "resolve_command", resolve_command)  # noqa: B010


def _conclude(
    state: _Instrumentation, run: _Run, session: Session, exc: BaseException | None
) -> None:
    """Name the session's command and failure from what the run resolved and raised."""
    if run.management:
        session.command = None  # `telemetry enable|disable|status` record nothing
        return
    deepest = run.path[-1] if run.path else state.root
    noted = run.exception
    clean = state.flavour.exit_type
    if noted is not None and not _clean_exit(noted, clean):
        session.command = _command_path(state.root, run.path)
        session.fail(state.telemetry.error_code_for(noted))
        return
    if exc is not None and not _clean_exit(exc, clean):
        session.command = _command_path(state.root, run.path)
        return  # the session classifies it (e.g. KeyboardInterrupt before parsing)
    # A clean end: a success if the command itself began, else only help or a version was
    # shown (or a completion answered) and no command ran.
    session.command = _command_path(state.root, run.path) if run.invoked is deepest else None


def _clean_exit(exc: BaseException, exit_type: type[BaseException]) -> bool:
    if isinstance(exc, exit_type):
        return getattr(exc, "exit_code", None) == 0
    return isinstance(exc, SystemExit) and exc.code in (0, None)


def _command_path(root: Any, path: list[Any]) -> str | None:
    names: list[str | None] = [command.name for command in path] if path else [root.name]
    if any(not name for name in names):
        return None
    # Telemetry normalises it (lower case, one space between words) when it records, after
    # the consent check: an opted-out run never loads the event and schema modules.
    return " ".join(name for name in names if name)
