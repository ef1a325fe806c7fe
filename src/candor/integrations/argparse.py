"""Telemetry for an argparse program with subcommands, in two lines.

The usual argparse program dispatches on a handler each subparser sets (the argparse docs'
`set_defaults(func=...)` idiom)::

    parser = argparse.ArgumentParser(prog="mytool")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build")
    build.set_defaults(func=run_build)          # run_build(args) -> int | None
    ...
    args = parser.parse_args()
    sys.exit(args.func(args))

Instrumented, the last two lines become::

    main = instrument(parser, telemetry)        # adds `mytool telemetry enable|disable|status|show`
    sys.exit(main())                            # or main(argv): parse, run the handler, record

`main(argv)` parses exactly as `parser.parse_args(argv)` would and returns the handler's exit
status (None is 0), inside one `telemetry.session()`. The recorded command is the path of
declared subparser names ("db migrate"; an alias typed by the user is recorded under its
declared name), never an argument. A usage error is "usage_error" under the deepest command
argparse recognised, or the CLI's name; `--help`/`--version` record nothing; a handler's
exception propagates unchanged and is recorded with `telemetry.error_code_for`; a non-zero
return is a failure ("internal_error"). Output and exit status are those of the plain program.

How: at each run every parser of the tree gets a default holding its command path (argparse
copies the chosen subparser's defaults into the result; the attribute is removed before the
handler sees it), and each parser's `error` is wrapped to note which parser rejected the
command line. Parsers added after `instrument()` are covered too.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from candor.client import _USAGE_ERROR as USAGE_ERROR

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from candor.client import Telemetry
    from candor.client import _Session as Session

__all__ = ["Instrumented", "instrument"]

TELEMETRY_COMMAND = "telemetry"
DEFAULT_HANDLER = "func"  # the argparse documentation's name for it
_PATH_DEST = "_candor_command_path"  # namespace attribute set by each subparser's defaults
_WATCHED_ATTR = "_candor_watched"  # on each parser: the program its error() reports to
_PROGRAM_ATTR = "_candor_program"  # on the root parser: makes instrument() idempotent


class Instrumented:
    """The instrumented program: call it with argv (default sys.argv[1:]) to run one command."""

    __slots__ = ("_rejected", "handler", "parser", "telemetry")

    def __init__(self, parser: argparse.ArgumentParser, telemetry: Telemetry, handler: str):
        self.parser = parser
        self.telemetry = telemetry
        self.handler = handler  # the namespace attribute holding each command's function
        self._rejected: tuple[str, ...] | None = None  # path of the parser that called error()

    def __call__(self, argv: Sequence[str] | None = None) -> int:
        """Parse `argv`, run the chosen handler inside a session, return its exit status."""
        _watch(self.parser, (), self)
        with self.telemetry.session() as session:
            args = self._parse(argv, session)
            path: tuple[str, ...] = getattr(args, _PATH_DEST, ())
            if hasattr(args, _PATH_DEST):
                delattr(args, _PATH_DEST)
            session.command = self._command(path)
            handler: Callable[[argparse.Namespace], object] | None = getattr(
                args, self.handler, None
            )
            if handler is None:  # no subcommand given and the subparsers are optional
                session.fail(USAGE_ERROR)
                self.parser.error("a command is required")
            result = handler(args)
            if result is not None and not isinstance(result, int):
                raise TypeError(f"a command handler must return an int or None, not {result!r}")
            status = result or 0
            if status:
                session.fail()
            return status

    def _parse(self, argv: Sequence[str] | None, session: Session) -> argparse.Namespace:
        namespace = argparse.Namespace()
        self._rejected = None
        try:
            return self.parser.parse_args(argv, namespace)
        except SystemExit as exit_:
            if exit_.code in (0, None):  # --help, --version: no command ran
                session.command = None
            else:
                # The chosen subparsers' defaults reach the namespace even when the root
                # rejects what is left ("unrecognized arguments"); a subparser's own error
                # comes before its defaults are copied: the deeper of the two is the command.
                recognised: tuple[str, ...] = getattr(namespace, _PATH_DEST, ())
                rejected = self._rejected or ()
                session.command = self._command(max(recognised, rejected, key=len))
                session.fail(USAGE_ERROR)
            raise

    def _command(self, path: tuple[str, ...]) -> str | None:
        if path[:1] == (TELEMETRY_COMMAND,):
            return None  # `telemetry enable|disable|status|show` record nothing
        # Telemetry normalises it (lower case, one space between words) when it records, after
        # the consent check: an opted-out run never loads the event and schema modules.
        return " ".join(path or (self.telemetry.cli_name,))


def instrument(
    parser: argparse.ArgumentParser, telemetry: Telemetry, *, handler: str = DEFAULT_HANDLER
) -> Instrumented:
    """Add the `telemetry` subcommand to `parser` and return the program that records each run.

    `parser` must have subcommands (`add_subparsers`); each sets its function with
    `set_defaults(**{handler: function})`. For a program without subcommands, wrap its body
    in `with telemetry.session("name"):` instead.
    """
    program: Instrumented | None = getattr(parser, _PROGRAM_ATTR, None)
    if program is not None:  # again: rebind to this Telemetry (handy in tests)
        program.telemetry = telemetry
        return program
    subparsers = _subparsers_action(parser)
    if subparsers is None:
        raise TypeError(
            "instrument() needs a parser with subcommands; for a single-command program use "
            "`with telemetry.session(name):`"
        )
    if TELEMETRY_COMMAND in subparsers.choices:
        raise ValueError(f"{parser.prog!r} already has a {TELEMETRY_COMMAND!r} command")
    program = Instrumented(parser, telemetry, handler)
    _add_telemetry_command(subparsers, program)
    setattr(parser, _PROGRAM_ATTR, program)
    return program


def _subparsers_action(
    parser: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _watch(parser: argparse.ArgumentParser, path: tuple[str, ...], program: Instrumented) -> None:
    """Give every parser of the tree its path as a default and an observed `error`."""
    if path:
        parser.set_defaults(**{_PATH_DEST: path})
    if getattr(parser, _WATCHED_ATTR, None) is not program:
        original_error = parser.error

        def error(message: str) -> None:
            program._rejected = path
            original_error(message)

        parser.error = error  # type: ignore[method-assign, assignment]
        setattr(parser, _WATCHED_ATTR, program)
    subparsers = _subparsers_action(parser)
    if subparsers is None:
        return
    seen: set[int] = set()
    for name, subparser in subparsers.choices.items():
        if id(subparser) not in seen:  # the first name is the declared one, then its aliases
            seen.add(id(subparser))
            _watch(subparser, (*path, name), program)


def _add_telemetry_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], program: Instrumented
) -> None:
    group = subparsers.add_parser(
        TELEMETRY_COMMAND,
        help="see or change the anonymous usage telemetry",
        description=f"See or change the anonymous usage telemetry {program.telemetry.cli_name} "
        "sends.",
    )
    actions = group.add_subparsers(dest="telemetry_action", metavar="ACTION", required=True)
    for action, text in (
        ("enable", "turn telemetry on (it is on by default)"),
        ("disable", "turn telemetry off; delete queued events and the record of sent ones"),
        ("status", "show whether telemetry is on and why, its files, and what is queued"),
        ("show", "list the events this machine sent and those still queued, newest first"),
    ):
        parser = actions.add_parser(action, help=text, description=text.capitalize() + ".")
        if action in ("status", "show"):
            parser.add_argument("--json", action="store_true", help=f"print the {action} as JSON")
        if action == "show":
            parser.add_argument(
                "--limit", type=_positive, metavar="N", help="show only the newest N events"
            )
        parser.set_defaults(**{program.handler: _telemetry_handler(program, action)})


def _positive(text: str) -> int:
    """--limit's type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _telemetry_handler(program: Instrumented, action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        # Imported here: it loads json, which a run that does not record never needs.
        from candor.client.commands import run as run_telemetry_command

        as_json = bool(getattr(args, "json", False))
        limit = getattr(args, "limit", None)
        text, code = run_telemetry_command(program.telemetry, action, as_json=as_json, limit=limit)
        # On success the answer is for stdout; otherwise it is a one-line error for stderr.
        print(text, file=sys.stderr if code else sys.stdout)
        return code

    return run
