"""The `candor` command: a thin dispatcher that imports each subcommand only when it runs.

Every subcommand lives in `candor.cli.<name>` and exposes `main(argv: list[str]) -> int`,
parsing its own arguments (with `prog="candor <name>"`). It reports a failure by raising
`candor.cli.errors.CommandError`, which is printed here, once, as `candor NAME: message`. A
subcommand whose extra is not installed fails here with the one-line install command and exit
status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

from candor.cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, CommandError

# name → (module, one-line help, extra the subcommand needs or None)
SUBCOMMANDS: dict[str, tuple[str, str, str | None]] = {
    "serve": (
        "candor.cli.serve",
        "run the collector (POST /v1/event, stats API, dashboard)",
        "server",
    ),
    "report": ("candor.cli.report", "answer the policy's questions as terminal tables", "server"),
    "export": ("candor.cli.export", "export raw events as Parquet or CSV", "server"),
    "prune": ("candor.cli.prune", "delete raw events older than the retention limit", "server"),
    "publish": ("candor.cli.publish", "write the public, aggregate-only report", "server"),
    "generate": ("candor.cli.generate", "fill a store with realistic synthetic events", "server"),
    "audit": ("candor.cli.audit", "check a CLI's telemetry promises in a sandbox", "audit"),
    "policy": (
        "candor.cli.policy",
        "print the Markdown telemetry policy generated from the schema",
        None,
    ),
}


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: candor <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_, _) in SUBCOMMANDS.items()]
    lines += ["", "Run 'candor <command> --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `candor` console script."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else EXIT_USAGE
    if args[0] == "--version":
        from candor import __version__

        print(f"candor {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"candor: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return EXIT_USAGE
    module_name, _, extra = SUBCOMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "candor":
            raise
        hint = f"pip install 'candor[{extra}]'" if extra else "reinstall candor"
        print(f"candor {name}: needs {exc.name!r}, which is not installed: {hint}", file=sys.stderr)
        return EXIT_USAGE
    try:
        status: int = module.main(rest)
    except CommandError as error:
        print(f"candor {name}: {error.message}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return status
