"""The eight checks: each turns the runs that concern it into PASS, FAIL (with evidence) or SKIP.

The runs themselves are made by `candor.audit.inside`; nothing here runs a process. "Output as
without telemetry" always means: compared with an opted-out run of the same command from the
same state (same working directory path, same kind of HOME).
"""

from __future__ import annotations

import json
import os
import re
import statistics
from typing import TYPE_CHECKING, Any

from candor.audit import canaries as canary_search
from candor.audit.payload import UUID_FIELD, SchemaCheck, decode
from candor.audit.report import FAIL, PASS, SKIP, Check

if TYPE_CHECKING:
    from candor.audit.canaries import Canaries
    from candor.audit.runner import Run

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# Output is compared with numbers and long hex strings masked: sizes, durations, timestamps and
# ids vary from run to run of any program, telemetry or not.
_VARIABLE = re.compile(r"[0-9a-fA-F]{8,}|[0-9]+")


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()


def _masked(line: str) -> str:
    return _VARIABLE.sub("#", line)


def _added_lines(run: Run, baseline: Run, stream: str = "stderr") -> list[str]:
    """Lines of `run`'s stream that the baseline's does not have (the notice, typically)."""
    theirs = {_masked(line) for line in _lines(getattr(baseline, stream))}
    return [
        line
        for line in _lines(getattr(run, stream))
        if line.strip() and _masked(line) not in theirs
    ]


def _same_outcome(run: Run, baseline: Run) -> list[str]:
    """Why `run` did not end as the opted-out baseline did (empty: it did)."""
    found = []
    if run.timed_out:
        found.append(f"{run.label}: still running after the timeout, killed ({run.wall_ms:.0f} ms)")
        return found
    if run.exit_status != baseline.exit_status:
        found.append(
            f"{run.label}: exit status {run.exit_status}, opted out {baseline.exit_status}"
        )
    mine, theirs = _lines(run.stdout), _lines(baseline.stdout)
    if [_masked(line) for line in mine] != [_masked(line) for line in theirs]:
        extra = _added_lines(run, baseline, "stdout")
        shown = "; ".join(extra[:3]) if extra else f"{len(mine)} lines, opted out {len(theirs)}"
        found.append(f"{run.label}: stdout differs from an opted-out run: {shown}")
    return found


def first_run(first: Run, second: Run, baseline: Run) -> Check:
    evidence = _same_outcome(first, baseline)
    if first.read_stdin and not baseline.read_stdin:
        evidence.append("first run: read its stdin, which an opted-out run did not: it asked")
    # The notice: what the first run printed and the second did not. (Not "more than the
    # opted-out run": a program that ignores its opt-out variable shows the notice there too.)
    notice = _added_lines(first, second)
    again = _added_lines(second, baseline)
    evidence += _same_outcome(second, baseline)
    if again:
        evidence.append(f"second run: stderr has more than the opted-out run: {again[0]!r}")
    elif not notice and not first.timed_out:
        evidence.append("first run: no notice on stderr (the policy promises a one-time notice)")
    sent = len(first.requests)
    told = (
        "the notice run sent nothing"
        if sent == 0 and not first.connections
        else f"the notice run sent {sent} request(s) (Candor's client sends nothing then)"
    )
    if evidence:
        return Check(1, FAIL, f"first run broke a promise; {told}", evidence)
    first_line = notice[0].strip()
    return Check(
        1,
        PASS,
        f"same stdout and exit status ({baseline.exit_status}) as opted out, stdin not read; "
        f"notice on stderr once ({first_line[:60]!r}…); {told}",
    )


def schema(
    runs: list[Run], checker: SchemaCheck, config_ids: dict[str, str | None], endpoint_var: str
) -> Check:
    """`config_ids`: config file (~/...) → the installation id in it (None: none found)."""
    evidence: list[str] = []
    ids: set[str] = set()
    events = requests = 0
    for run in runs:
        for request in run.requests:
            requests += 1
            decoded = decode(request)
            if decoded.problem:
                evidence.append(
                    f"{run.label}: {request.method} {request.target}: {decoded.problem}"
                )
            for event in decoded.events:
                events += 1
                for problem in checker.problems(event):
                    evidence.append(f"{run.label}: {problem}")
                if isinstance(event, dict) and isinstance(event.get(UUID_FIELD), str):
                    ids.add(event[UUID_FIELD])
    if requests == 0:
        looked_up = sorted({name for run in runs for name in run.dns})
        hint = f"; it looked up {', '.join(looked_up[:3])}" if looked_up else ""
        return Check(
            2,
            SKIP,
            f"no request reached the capture endpoint: nothing to validate (does the program "
            f"read {endpoint_var}?){hint}",
        )
    if UUID_FIELD in checker.fields:
        saved = {value for value in config_ids.values() if value}
        if not saved:
            evidence.append(f"no {UUID_FIELD} found in {', '.join(config_ids)}")
        for value in sorted(ids):
            if not UUID4.match(value):
                evidence.append(f"{UUID_FIELD} {value!r} is not a canonical UUIDv4")
        if len(ids) > 1:
            evidence.append(f"{UUID_FIELD} changed between runs: {', '.join(sorted(ids))}")
        elif ids and saved and ids != saved:
            evidence.append(f"{UUID_FIELD} {ids.pop()} is not the config's {saved.pop()}")
    summary = f"{events} event(s) in {requests} request(s)"
    if evidence:
        return Check(2, FAIL, f"{summary}: {len(evidence)} problem(s)", evidence)
    stable = f"; {UUID_FIELD} stable and equal to the config's" if ids else ""
    return Check(2, PASS, f"{summary}, all valid, no field outside the schema{stable}")


def canaries(runs: list[Run], planted: Canaries) -> Check:
    places = planted.places()
    evidence: list[str] = []
    requests = 0
    for run in runs:
        for request in run.requests + run.plain_requests:
            requests += 1
            where = f"{run.label}: {request.method} {request.target}"
            evidence += canary_search.find(places, f"{where} URL", request.target.encode())
            headers = "\n".join(f"{key}: {value}" for key, value in request.headers)
            evidence += canary_search.find(places, f"{where} headers", headers.encode())
            evidence += canary_search.find(places, f"{where} body", request.body)
        for name in run.dns:
            evidence += canary_search.find(places, f"{run.label}: DNS lookup", name.encode())
    lookups = sum(len(run.dns) for run in runs)
    summary = (
        f"{len(places)} canaries (argument, {len(planted.env)} environment variables, working "
        f"directory, user, host, file) searched in {requests} request(s), {lookups} DNS lookup(s)"
    )
    if evidence:
        return Check(3, FAIL, f"{summary}: found {len(evidence)}", evidence)
    return Check(3, PASS, f"{summary}: none found (raw, decoded, encoded or hashed)")


def _quiet(run: Run, *, files: bool = True) -> list[str]:
    """Why `run` was not silent: network, requests, files under HOME, processes left."""
    found = [f"{run.label}: {line}" for line in run.network_activity()]
    found += [
        f"{run.label}: sent {request.method} {request.target} ({len(request.body)} bytes)"
        for request in run.requests + run.plain_requests
    ]
    if files:
        found += [f"{run.label}: {change}" for change in run.home_changes]
    found += [f"{run.label}: left running: {process}" for process in run.leftovers]
    if run.timed_out:
        found.append(f"{run.label}: still running after the timeout, killed")
    return found


def opt_out(runs: list[Run], settings: list[str], watched: str) -> Check:
    evidence = [line for run in runs for line in _quiet(run)]
    if evidence:
        return Check(4, FAIL, f"activity while opted out (watched by {watched})", evidence)
    return Check(
        4,
        PASS,
        f"{', '.join(settings)}, fresh and installed HOME: no connection attempt, no DNS "
        f"lookup, no file under HOME, no process left (watched by {watched})",
    )


def disable(
    switch_off: Run | None, after_off: Run | None, switch_on: Run | None, after_on: Run | None
) -> Check:
    if switch_off is None or after_off is None or switch_on is None or after_on is None:
        return Check(5, SKIP, "no disable/enable invocation given (--disable '')")
    evidence = []
    for switch in (switch_off, switch_on):
        if switch.timed_out or switch.exit_status != 0:
            evidence.append(f"{switch.label}: exit status {switch.exit_status}")
    evidence += _quiet(after_off, files=False)
    if not after_on.requests:
        evidence.append(f"{after_on.label}: no event reached the endpoint after enable")
    if evidence:
        return Check(5, FAIL, "disable/enable did not hold", evidence)
    return Check(
        5,
        PASS,
        f"after `{' '.join(switch_off.argv[1:])}`: no network activity; after "
        f"`{' '.join(switch_on.argv[1:])}`: {len(after_on.requests)} request(s) again",
    )


def endpoint_down(baselines: list[Run], down: list[Run], hanging: list[Run]) -> Check:
    evidence = []
    for run in down + hanging:
        evidence += _same_outcome(run, baselines[0])
        printed = _added_lines(run, baselines[0])
        if printed and not run.timed_out:
            evidence.append(f"{run.label}: printed on stderr: {printed[0]!r}")

    def median(runs: list[Run]) -> float:
        return statistics.median(run.wall_ms for run in runs)

    base = median(baselines)
    added_down = median(down) - base
    added_hang = median(hanging) - base
    held = sum(len(run.requests) for run in hanging)
    check_summary = (
        f"added wall time over opted out (median of {len(baselines)}): endpoint down "
        f"{added_down:+.0f} ms, hanging {added_hang:+.0f} ms ({held} request(s) held unanswered)"
    )
    if any(run.timed_out for run in hanging + down):
        check_summary = "the command hung with the endpoint down or hanging: killed"
    verdict = FAIL if evidence else PASS
    if verdict == PASS:
        check_summary = f"same stdout, exit status and stderr; {check_summary}"
    check = Check(6, verdict, check_summary, evidence)
    check.measurements = {
        "opted_out_ms": round(base, 1),
        "added_ms_endpoint_down": round(added_down, 1),
        "added_ms_endpoint_hanging": round(added_hang, 1),
    }
    return check


def do_not_track(run: Run, claimed: bool) -> Check:
    activity = _quiet(run, files=False)
    if not activity:
        return Check(7, PASS, "DO_NOT_TRACK=1 honoured: no network activity")
    if claimed:
        return Check(7, FAIL, "DO_NOT_TRACK=1 is claimed but not honoured", activity)
    return Check(
        7,
        PASS,
        "DO_NOT_TRACK=1 not honoured (a recommendation, not a failure: "
        "https://consoledonottrack.com)",
        activity,
    )


def plain_text(run: Run | None, host: str, watched: str) -> Check:
    if run is None:
        return Check(8, SKIP, "no observer for a plain-text attempt (no strace, no listener)")
    evidence = [str(attempt) for attempt in run.attempts if attempt.address.startswith(host)]
    if run.plain_connections:
        evidence.append(f"{run.plain_connections} connection(s) reached http://{host}/")
    evidence += [f"sent {request.method} {request.target}" for request in run.plain_requests]
    if evidence:
        return Check(8, FAIL, f"tried plain http:// to {host} (watched by {watched})", evidence)
    return Check(
        8, PASS, f"pointed at http://{host}/v1/event (no route out): no attempt ({watched})"
    )


def config_id(home: str, config_dir: str) -> str | None:
    """The installation id saved in HOME/CONFIG_DIR/config.json, if any."""
    path = os.path.join(home, config_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as file:
            data: Any = json.load(file)
    except (OSError, ValueError):
        return None
    return _find_key(data, UUID_FIELD)


def _find_key(data: Any, key: str) -> str | None:
    if isinstance(data, dict):
        if isinstance(data.get(key), str):
            return str(data[key])
        values = list(data.values())
    elif isinstance(data, list):
        values = data
    else:
        return None
    for value in values:
        found = _find_key(value, key)
        if found:
            return found
    return None
