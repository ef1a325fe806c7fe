"""Small programs to instrument: a Click app and an argparse app, built fresh for each test.

Each has one command per way a run can end (success, declared error, undeclared exception,
explicit exit status, Ctrl-C, ...), so the same argv can be run with and without telemetry and
the two runs compared.
"""

from __future__ import annotations

import argparse
import sys

import click

APP_NAME = "acme"
VERSION = "1.2.3"


class QuotaExceeded(click.ClickException):
    """A failure the app declares an error code for."""

    exit_code = 3


class ConfigMissing(Exception):
    """A plain exception the argparse app declares an error code for."""


ERROR_CODES: dict[type[BaseException], str] = {
    QuotaExceeded: "quota_exceeded",
    ConfigMissing: "config_missing",
}


def make_click_app() -> click.Group:
    """A Click program with nested groups, options, and every way of ending."""

    @click.group(name=APP_NAME)
    @click.version_option(VERSION, prog_name=APP_NAME)
    @click.option("--verbose", is_flag=True)
    def app(verbose: bool) -> None:
        """The acme tool."""

    @app.command()
    @click.argument("target")
    @click.option("--count", type=int, default=1)
    @click.option("--token")
    def deploy(target: str, count: int, token: str | None) -> None:
        """Deploy TARGET."""
        click.echo(f"deploying {target} x{count}")
        click.echo("token set" if token else "no token", err=True)

    @app.command()
    def quota() -> None:
        """Fail with a declared error."""
        raise QuotaExceeded("quota exceeded for this month")

    @app.command()
    def crash() -> None:
        """Fail with an undeclared exception."""
        raise RuntimeError("boom")

    @app.command(name="exit-code")
    @click.argument("code", type=int)
    @click.pass_context
    def exit_code(ctx: click.Context, code: int) -> None:
        """Leave with ctx.exit(CODE)."""
        click.echo(f"leaving with {code}")
        ctx.exit(code)

    @app.command(name="sys-exit")
    @click.argument("code", type=int)
    def sys_exit(code: int) -> None:
        """Leave with sys.exit(CODE)."""
        sys.exit(code)

    @app.command()
    def interrupt() -> None:
        """Behave as if the user pressed Ctrl-C."""
        click.echo("working...")
        raise KeyboardInterrupt

    @app.command()
    def cancel() -> None:
        """Abort as a declined confirmation does."""
        raise click.Abort

    @app.command()
    @click.option("--size", type=click.IntRange(1, 10), required=True)
    def resize(size: int) -> None:
        """Reject a bad value in the command's own code (BadParameter)."""
        if size == 7:
            raise click.BadParameter("7 is reserved", param_hint="--size")
        click.echo(f"size {size}")

    @app.group()
    def db() -> None:
        """Database commands."""

    @db.command()
    @click.option("--to", "revision")
    def migrate(revision: str | None) -> None:
        """Migrate the database."""
        click.echo(f"migrated to {revision or 'head'}")

    return app


def make_argparse_app() -> argparse.ArgumentParser:
    """An argparse program with subcommands, aliases, a nested group and every way of ending."""
    parser = argparse.ArgumentParser(prog=APP_NAME, description="The acme tool.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)

    deploy = commands.add_parser("deploy", aliases=["ship"], help="deploy TARGET")
    deploy.add_argument("target")
    deploy.add_argument("--count", type=int, default=1)
    deploy.add_argument("--token")
    deploy.set_defaults(func=_deploy)

    commands.add_parser("config").set_defaults(func=_config)
    commands.add_parser("crash").set_defaults(func=_crash)
    commands.add_parser("interrupt").set_defaults(func=_interrupt)
    status = commands.add_parser("status")
    status.add_argument("code", type=int)
    status.set_defaults(func=_status)

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    migrate = db_commands.add_parser("migrate")
    migrate.add_argument("--to", dest="revision", required=True)
    migrate.set_defaults(func=_migrate)
    return parser


def plain_main(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """How the argparse app runs without telemetry: the argparse documentation's idiom."""
    args = parser.parse_args(argv)
    result: int | None = args.func(args)
    return result or 0


def _deploy(args: argparse.Namespace) -> None:
    print(f"deploying {args.target} x{args.count}")
    print("token set" if args.token else "no token", file=sys.stderr)


def _config(args: argparse.Namespace) -> None:
    raise ConfigMissing("no acme.toml")


def _crash(args: argparse.Namespace) -> None:
    raise RuntimeError("boom")


def _interrupt(args: argparse.Namespace) -> None:
    raise KeyboardInterrupt


def _status(args: argparse.Namespace) -> int:
    print(f"status {args.code}")
    code: int = args.code
    return code


def _migrate(args: argparse.Namespace) -> None:
    print(f"migrated to {args.revision}")
    # The handler sees the user's namespace only: no telemetry attribute leaks into it.
    print(sorted(vars(args)))
