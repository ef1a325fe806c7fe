"""`candor audit [OPTIONS] -- COMMAND [ARGS...]`: check a CLI's telemetry promises from outside.

This is the outer half: it parses the options, proves the sandbox can be made, and runs the
audit inside it (`unshare ... python -m candor.audit.inside WORKDIR`, see candor.audit.sandbox),
then renders the report. It owns the temporary WORKDIR (HOMEs, working directories, logs) and
removes it whatever happens; the namespaces take every process with them when they end.

Exit status: 0 every check passed (or was skipped), 1 a check failed, 2 a usage error or a
sandbox that cannot be set up here (the reason is printed; nothing was run).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

from candor.audit import report as reporting
from candor.audit import sandbox
from candor.audit.options import (
    DEFAULT_DISABLE,
    DEFAULT_ENABLE,
    DEFAULT_PLATFORM,
    DEFAULT_TIMEOUT_S,
    AuditOptions,
    env_prefix,
)
from candor.audit.payload import load_schema  # imports jsonschema: the [audit] extra
from candor.cli.errors import EXIT_USAGE, CommandError, UsageError

INSIDE_MODULE = "candor.audit.inside"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor audit",
        usage="candor audit [OPTIONS] -- COMMAND [ARGS...]",
        description=(
            "Run COMMAND in a sandbox (a network namespace with only loopback, a fresh HOME, "
            "a minimal environment, no input, a capture endpoint) and check each telemetry "
            "promise against what it does: PASS, FAIL with the evidence, or SKIP with why."
        ),
        epilog="Exit status: 0 no check fails (a SKIP says why), 1 a check fails, 2 a usage "
        "error, no sandbox here, or a command that does not end.",
    )
    parser.add_argument(
        "--platform",
        default=DEFAULT_PLATFORM,
        metavar="NAME",
        help="config dir ~/.NAME/, variables NAME_TELEMETRY_ENDPOINT and "
        "NAME_TELEMETRY_OPT_OUT (default: %(default)s)",
    )
    parser.add_argument(
        "--endpoint-var",
        metavar="VAR",
        help="variable that points the program at the capture endpoint "
        "(default: NAME_TELEMETRY_ENDPOINT)",
    )
    parser.add_argument(
        "--opt-out",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="an opt-out setting to check, repeatable (default: NAME_TELEMETRY_OPT_OUT=1)",
    )
    parser.add_argument(
        "--disable",
        default=shlex.join(DEFAULT_DISABLE),
        metavar="ARGS",
        help="arguments that turn telemetry off (default: '%(default)s'; '' skips check 5)",
    )
    parser.add_argument(
        "--enable",
        default=shlex.join(DEFAULT_ENABLE),
        metavar="ARGS",
        help="arguments that turn it back on (default: '%(default)s')",
    )
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="JSON Schema of the allowed event (default: Candor's schema.json, nine fields)",
    )
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        help="copy DIR as the working directory of every run, e.g. a sample project "
        "(default: an empty directory)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="kill a run of COMMAND that lasts longer (default: %(default)s)",
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="machine-readable report")
    form.add_argument(
        "--markdown", action="store_true", help="summary to paste into a README or pull request"
    )
    return parser


def parse(argv: list[str]) -> tuple[AuditOptions, argparse.Namespace]:
    parser = build_parser()
    if "--" in argv:
        cut = argv.index("--")
        own, command = argv[:cut], argv[cut + 1 :]
    else:
        own, command = argv, []
    args = parser.parse_args(own)  # exits 2 with argparse's message on a bad option
    if not command:
        raise UsageError("no command to audit: candor audit [OPTIONS] -- COMMAND [ARGS...]")
    if not args.platform or not env_prefix(args.platform).strip("_"):
        raise UsageError(f"--platform must be a name like your-platform, not {args.platform!r}")
    if not args.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    opt_outs = []
    for item in args.opt_out:
        name, sep, value = item.partition("=")
        if not sep or not name or not name.replace("_", "").isalnum():
            raise UsageError(f"--opt-out expects VAR=VALUE, got {item!r}")
        opt_outs.append((name, value))
    schema = None
    if args.schema is not None:
        try:
            schema = load_schema(args.schema)
        except OSError as error:
            raise UsageError(f"--schema {args.schema}: {error.strerror or error}") from None
        except Exception as error:  # JSON or schema errors, whatever their class
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise UsageError(f"--schema {args.schema}: not a valid JSON Schema: {first}") from None
    if args.workdir is not None and not os.path.isdir(args.workdir):
        raise UsageError(f"--workdir {args.workdir}: not a directory")
    program = shutil.which(command[0])
    if program is None:
        raise UsageError(f"command not found: {command[0]}")
    try:
        disable, enable = shlex.split(args.disable), shlex.split(args.enable)
    except ValueError as error:
        raise UsageError(f"--disable/--enable: {error}") from None
    options = AuditOptions(
        [os.path.abspath(program), *command[1:]],
        platform=args.platform,
        endpoint_var=args.endpoint_var,
        opt_outs=opt_outs,
        disable=disable or None,
        enable=enable or None,
        schema=schema,
        timeout=args.timeout,
        path=os.environ.get("PATH", os.defpath),
        typed=command,
        workdir=None if args.workdir is None else os.path.abspath(args.workdir),
    )
    return options, args


def main(argv: list[str]) -> int:
    options, args = parse(argv)  # a UsageError is printed by the dispatcher
    try:
        report = run(options)
    except sandbox.SandboxError as error:
        report = reporting.Report(options.typed, options.platform)
        report.program = options.command[0]
        report.error = str(error)
        report.checks = [
            reporting.Check(number, reporting.SKIP, f"not run: {error}")
            for number in reporting.CHECKS
        ]
        _write(report, args)
        raise CommandError(str(error), EXIT_USAGE) from None  # the one line on stderr
    _write(report, args)
    return report.exit_status


def _write(report: reporting.Report, args: argparse.Namespace) -> None:
    if args.json:
        text = reporting.render_json(report) + "\n"
    elif args.markdown:
        text = reporting.render_markdown(report)
    else:
        text = reporting.render_text(report)
    sys.stdout.write(text)
    sys.stdout.flush()


def run(options: AuditOptions) -> reporting.Report:
    """Run the audit inside the sandbox; raises SandboxError when it cannot be made."""
    prefix = sandbox.probe()
    work = tempfile.mkdtemp(prefix="candor-audit-")
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        os.chmod(work, 0o700)
        with open(os.path.join(work, "options.json"), "w", encoding="utf-8") as file:
            json.dump(options.as_dict(), file)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            **{name: os.environ[name] for name in ("PYTHONPATH",) if name in os.environ},
            "CANDOR_AUDIT_INSIDE": "1",
            "CANDOR_AUDIT_ROOT": "1" if os.geteuid() == 0 else "0",
        }
        argv = [*prefix, sys.executable, "-P", "-m", INSIDE_MODULE, work]
        child = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        try:
            _, err = child.communicate()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        path = os.path.join(work, "report.json")
        if child.returncode != 0 or not os.path.exists(path):
            lines = err.decode(errors="replace").strip().splitlines()
            why = lines[-1] if lines else f"exit status {child.returncode}"
            raise sandbox.SandboxError(why.removeprefix("candor audit: "))
        with open(path, encoding="utf-8") as file:
            return reporting.Report.from_dict(json.load(file))
    finally:
        signal.signal(signal.SIGTERM, previous)
        _remove(work)


def _remove(work: str) -> None:
    """Remove the work directory; a killed sandbox may still be exiting, so try a few times."""
    import time

    for _ in range(50):
        shutil.rmtree(work, ignore_errors=True)
        if not os.path.exists(work):
            return
        time.sleep(0.1)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the cleanup above


def _die_with_parent() -> None:
    """In the child: SIGKILL it when `candor audit` dies, so the namespaces go too."""
    import ctypes
    import ctypes.util

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
