"""`python -m candor.audit.inside WORKDIR`: the audit proper, run inside the sandbox's namespaces.

Reads WORKDIR/options.json, sets the namespaces up (candor.audit.sandbox.prepare), starts the
listeners, makes every run the checks need, and writes WORKDIR/report.json. Started only by
`candor audit` through `unshare` (candor.audit.sandbox); it refuses to run anywhere else.

The runs, in order (HOME "main" is one installation followed through its life):

    opted out, fresh HOME, traced          baseline of check 1, check 4 (one per variable)
    (traced runs let whatever they leave behind run on for a while: it is already a FAIL, and
    strace then records where it was going)
    first run, second run     (main)       check 1, check 2
    canary argument           (main)       check 3 (canaries are planted in every run)
    opted out, traced         (main)       check 4 (one per variable)
    disable; after; enable; after (main)   check 5
    DO_NOT_TRACK=1, traced                 check 7, in a copy of main after its 2nd run
    opted out / down / hanging ×3          check 6, each in a copy of main after its 2nd run
    plain http://, traced                  check 8, in a copy of main after its 2nd run
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from typing import TYPE_CHECKING

from candor.audit import checks, sandbox
from candor.audit.canaries import Canaries
from candor.audit.endpoint import CaptureEndpoint, DnsRecorder, Listener
from candor.audit.options import MEDIAN_RUNS, AuditOptions
from candor.audit.payload import SchemaCheck, decode, load_schema
from candor.audit.report import Check, Report
from candor.audit.runner import Run, Runner
from candor.audit.trace import Tracer

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_REQUESTS_SHOWN = 100  # in the --json report, each with its decoded events

# Set by the outer `candor audit`; nothing else may start this module.
MARKER = "CANDOR_AUDIT_INSIDE"


class Unauditable(sandbox.SandboxError):
    """The program cannot be audited as asked (it never ends); exit status 2 with the reason."""


def audit(options: AuditOptions, work: str) -> Report:
    started = time.monotonic()
    report = Report(options.typed, options.platform)
    report.program = options.command[0]
    planted = Canaries()
    notes = sandbox.prepare(work, planted.user, planted.host)
    foreign = sandbox.only_loopback()
    if foreign:
        raise sandbox.SandboxError(f"the namespace has interfaces besides lo: {foreign}")
    tracer, tracer_note = Tracer.find()
    endpoint = CaptureEndpoint("127.0.0.1")
    dns = DnsRecorder(sandbox.DNS_HOST)
    try:
        plain: Listener | None = Listener(sandbox.PLAIN_HOST, sandbox.PLAIN_PORT)
    except OSError:
        plain = None
    down = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # bound, never listening: refused
    down.bind(("127.0.0.1", 0))
    observers = (["strace"] if tracer else []) + ["DNS recorder", "capture endpoint"]
    if plain is not None:
        observers.append("plain-text listener")
    as_root = os.environ.get("CANDOR_AUDIT_ROOT") == "1"
    blind = "" if tracer else f"; without strace ({tracer_note}) other attempts go unseen"
    report.sandbox = {
        "summary": (
            "network namespace with only lo, PID namespace, "
            f"{'as root' if as_root else 'unprivileged user namespace'}; "
            f"observed by {', '.join(observers)}{blind}"
        ),
        "network_namespace": True,
        "interfaces": ["lo"],
        "pid_namespace": True,
        "user_namespace": not as_root,
        "observers": observers,
        "tracer": tracer_note,
        "notes": notes,
    }
    base_env = {"PATH": options.path, "LANG": "C.UTF-8", **planted.variables()}
    runner = Runner(
        work, base_env, planted, endpoint, plain, dns, tracer, options.timeout, options.settle
    )
    runner.template = options.workdir
    try:
        watched = ", ".join(observers)
        report.checks = _run_checks(options, runner, planted, watched, down.getsockname()[1])
    finally:
        endpoint.close()
        dns.close()
        if plain is not None:
            plain.close()
        down.close()
    report.runs = [run.as_dict() for run in runner.runs]
    report.requests = [
        {**request.as_dict(), "events": decoded.events, "problem": decoded.problem}
        for run in runner.runs
        for request in run.requests + run.plain_requests
        for decoded in (decode(request),)
    ][:MAX_REQUESTS_SHOWN]
    report.duration_s = time.monotonic() - started
    return report


def _run_checks(
    options: AuditOptions,
    runner: Runner,
    planted: Canaries,
    watched: str,
    down_port: int,
) -> list[Check]:
    command, program = options.command, options.command[:1]
    send = {options.endpoint_var: runner.endpoint.url()}
    opted = [{**send, name: value} for name, value in options.opt_outs]
    claims_dnt = any(name == "DO_NOT_TRACK" for name, _ in options.opt_outs)

    fresh_opted = [
        runner.run(f"opted out by {name}, first run", runner.home(f"opted-{i}"), command,
                   env, traced=True)
        for i, (env, (name, _)) in enumerate(zip(opted, options.opt_outs, strict=True))
    ]  # fmt: skip
    baseline = fresh_opted[0]
    if baseline.timed_out:
        raise Unauditable(
            f"{options.typed[0]} did not end within {options.timeout:g} s even opted out: "
            "audit a command that ends (e.g. `init`, `--version`), or raise --timeout"
        )
    main = runner.home("main")
    first = runner.run("first run", main, command, send)
    second = runner.run("second run", main, command, send)
    seed = runner.home("seed", copy_of=main)
    runner.run("canary argument", main, [*command, planted.argument], send)
    main_opted = [
        runner.run(f"opted out by {name}", main, command, env, traced=True)
        for env, (name, _) in zip(opted, options.opt_outs, strict=True)
    ]
    switches: list[Run | None] = [None, None, None, None]
    if options.disable and options.enable:
        switches = [
            runner.run("disable", main, [*program, *options.disable], send),
            runner.run("after disable", main, command, send, traced=True),
            runner.run("enable", main, [*program, *options.enable], send),
            runner.run("after enable", main, command, send),
        ]
    # In a copy of main as it was after its second run: telemetry on, whatever check 5 left.
    dnt = runner.run("DO_NOT_TRACK=1", runner.home("dnt", seed), command,
                     {**send, "DO_NOT_TRACK": "1"}, traced=True)  # fmt: skip
    baselines, down, hanging = [], [], []
    down_env = {options.endpoint_var: f"http://127.0.0.1:{down_port}/v1/event"}
    for i in range(MEDIAN_RUNS):
        copy = f"{i}-{len(runner.runs)}"
        baselines.append(runner.run(f"opted out #{i + 1}", runner.home(f"b{copy}", seed),
                                    command, opted[0], background=False))  # fmt: skip
        down.append(runner.run(f"endpoint down #{i + 1}", runner.home(f"d{copy}", seed),
                               command, down_env, background=False))  # fmt: skip
        label = f"endpoint hanging #{i + 1}"
        hanging.append(runner.run(label, runner.home(f"h{copy}", seed), command, send,
                                  endpoint_mode="hang", background=False,
                                  until=_request_reached(runner.endpoint, label)))  # fmt: skip
        if hanging[-1].timed_out or down[-1].timed_out:
            break  # a hanging program: once is evidence enough
    plain_env = {options.endpoint_var: f"http://{sandbox.PLAIN_HOST}:{sandbox.PLAIN_PORT}/v1/event"}
    plain = None
    if runner.tracer is not None or runner.plain is not None:
        plain = runner.run("plain http://", runner.home("plain", seed), command, plain_env,
                           traced=True)  # fmt: skip

    checker = SchemaCheck(options.schema or load_schema(None))
    config_ids = {f"~/{options.config_dir}/config.json": checks.config_id(main, options.config_dir)}
    all_runs = runner.runs
    settings = [f"{name}={value}" for name, value in options.opt_outs]
    return [
        checks.first_run(first, second, baseline),
        checks.schema(all_runs, checker, config_ids, options.endpoint_var),
        checks.canaries(all_runs, planted),
        checks.opt_out([*fresh_opted, *main_opted], settings, watched),
        checks.disable(*switches),
        checks.endpoint_down(baselines, down, hanging),
        checks.do_not_track(dnt, claims_dnt),
        checks.plain_text(plain, sandbox.PLAIN_HOST, watched),
    ]


def _request_reached(endpoint: CaptureEndpoint, label: str) -> Callable[[], bool]:
    """True once a request of run `label` reached the endpoint (and hangs there)."""
    return lambda: bool(endpoint.requests_of(label))


def main(argv: list[str]) -> int:
    if len(argv) != 1 or os.environ.get(MARKER) != "1" or os.getpid() != 1:
        print("candor.audit.inside: started only by `candor audit`", file=sys.stderr)
        return 2
    work = argv[0]
    with open(os.path.join(work, "options.json"), encoding="utf-8") as file:
        options = AuditOptions.from_dict(json.load(file))
    try:
        report = audit(options, work)
    except sandbox.SandboxError as error:
        print(f"candor audit: {error}", file=sys.stderr)
        return 2
    with open(os.path.join(work, "report.json"), "w", encoding="utf-8") as file:
        json.dump(report.as_dict(), file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
