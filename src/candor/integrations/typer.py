"""Telemetry for a Typer program: `cli = instrument(app, telemetry)`, then run `cli()`.

    import typer
    from candor.integrations.typer import instrument

    app = typer.Typer()
    ...
    def main() -> None:                 # the console script's entry point
        instrument(app, Telemetry(...))()

Typer builds a Click-shaped command tree (recent releases with their own fork of Click, so
`candor.integrations.click` cannot take it). `instrument` builds that tree once with
`typer.main.get_command(app)`, instruments it exactly as the Click integration does (same
recording rules, same unchanged output and exit status, see that module) and returns it:
call the returned command, not `app`, which would build a fresh, uninstrumented tree.
The added `telemetry` group is itself a Typer sub-app (`enable`, `disable`, `status --json`,
`show --json --limit N`), made when a run first looks it up or lists the root's commands:
making it costs ~0.8 ms that a run of another command does not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Typer is optional (the CLI author's dependency, not Candor's): type-check without it too.
import typer  # type: ignore[import-not-found, unused-ignore]
import typer.core  # type: ignore[import-not-found, unused-ignore]
import typer.main  # type: ignore[import-not-found, unused-ignore]

from candor.client import _INTERRUPTED as INTERRUPTED
from candor.client import _USAGE_ERROR as USAGE_ERROR
from candor.integrations._clicklike import TELEMETRY_COMMAND, Flavour, attach

if TYPE_CHECKING:
    from candor.client import Telemetry
    from candor.integrations._clicklike import Answer

__all__ = ["instrument"]

# Typer's BadParameter derives from the UsageError of whichever Click it runs on (its own fork
# or Click itself): found by name so neither private module path is hard-coded.
USAGE_ERROR_TYPE: type[BaseException] = next(
    cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError"
)
TYPER_ERROR_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (USAGE_ERROR_TYPE, USAGE_ERROR),
    (typer.Abort, INTERRUPTED),
)


def instrument(app: typer.Typer | typer.core.TyperGroup, telemetry: Telemetry) -> Any:
    """The instrumented command tree of `app`: call it to run the program.

    `app` is a `typer.Typer` with several commands (or the TyperGroup already built from one).
    Calling it again with the same TyperGroup rebinds it to another `Telemetry`.
    """
    group = typer.main.get_command(app) if isinstance(app, typer.Typer) else app
    if not isinstance(group, typer.core.TyperGroup):
        raise TypeError(
            "instrument() needs a Typer app with subcommands; for a single command, wrap its "
            "body in telemetry.session(...)"
        )
    attach(group, telemetry, TYPER)
    return group


def _echo(text: str, to_stderr: bool) -> None:
    typer.echo(text, err=to_stderr)


def _telemetry_command(answer: Answer, chain_mode: bool) -> Any:
    """The `telemetry` sub-app: enable, disable, status [--json], show [--json] [--limit N]."""
    app = typer.Typer(
        name=TELEMETRY_COMMAND,
        help="See or change the anonymous usage telemetry this CLI sends.",
        add_completion=False,
    )

    def enable() -> None:
        """Turn telemetry on (it is on by default)."""
        answer("enable", False, None)

    def disable() -> None:
        """Turn telemetry off and delete events not yet sent and the record of sent ones."""
        answer("disable", False, None)

    def status(
        as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
    ) -> None:
        """Show whether telemetry is on and why, its files, and what is queued."""
        answer("status", as_json, None)

    def show(
        as_json: bool = typer.Option(False, "--json", help="Print the events as JSON."),
        limit: int | None = typer.Option(
            None, "--limit", min=1, metavar="N", help="Show only the newest N events."
        ),
    ) -> None:
        """List the events this machine sent and those still queued, newest first."""
        answer("show", as_json, limit)

    # Registered by call rather than as decorators, so the module type-checks without Typer.
    for command in (enable, disable, status, show):
        app.command()(command)
    return typer.main.get_command(app)


TYPER = Flavour(
    group_types=(typer.core.TyperGroup,),
    exit_type=typer.Exit,
    error_codes=TYPER_ERROR_CODES,
    echo=_echo,
    make_telemetry_command=_telemetry_command,
    lazy_telemetry_command=True,
)
