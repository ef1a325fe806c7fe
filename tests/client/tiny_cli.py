"""A hand-written CLI that uses `Telemetry` directly, as a CLI without Click or argparse would.

Run as a script by the tests (`python tests/client/tiny_cli.py COMMAND`), with HOME and the
telemetry variables set by the test. Commands:

    ok              prints a JSON line on stdout, exits 0 (any other word does the same)
    fail            session.fail("invalid_manifest"), exits 1
    manifest        raises ManifestError (declared as invalid_manifest), caught here, exit 1
    crash           raises RuntimeError: the CLI's own traceback, exit 1
    exit N          sys.exit(N) inside the session
    bad-name        records the invalid command name "Bad/Name" (the event is dropped)
    odd-stdin       replaces sys.stdin by an object whose isatty() raises (a host's oddity)
    telemetry enable|disable|status|show [--json] [--limit N]

With TINY_CLI_GATE=PATH it first writes PATH.ready.PID and waits for PATH to exist, so a test
can start many first runs at the same moment. With TINY_CLI_READ_BYTES=PATH it writes, as it
exits, how many bytes the process read (`rchar` of /proc/self/io), so a test can check that a
huge file was not read.
"""

from __future__ import annotations

import json
import os
import sys
import time

from candor.client import Telemetry
from candor.client.commands import run


class ManifestError(Exception):
    """The manifest is invalid (the demo's declared error)."""


class StrictManifestError(ManifestError):
    """A subclass: its code comes from ManifestError through the MRO."""


class _OddStream:
    def isatty(self) -> bool:
        raise RuntimeError("this stream cannot say")


GATE_POLL_S = 0.005
GATE_LIMIT_S = 60.0


def wait_at_gate(gate: str) -> None:
    """Say "ready", then wait until the test opens the gate: many runs then start together."""
    with open(f"{gate}.ready.{os.getpid()}", "w"):
        pass
    deadline = time.monotonic() + GATE_LIMIT_S
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(GATE_POLL_S)  # polling for the gate file, not waiting for time to pass


def main(argv: list[str]) -> int:
    gate = os.environ.get("TINY_CLI_GATE")
    if gate:
        wait_at_gate(gate)
    telemetry = Telemetry(
        platform="your-platform",
        cli_name="tiny-cli",
        cli_version="0.2.1",
        endpoint="https://telemetry.your-platform.com/v1/event",
        policy_url="https://your-platform.com/telemetry",
        error_codes={ManifestError: "invalid_manifest"},
    )
    command = argv[0] if argv else "ok"
    if command == "telemetry":
        limit = int(argv[argv.index("--limit") + 1]) if "--limit" in argv else None
        text, code = run(telemetry, argv[1], as_json="--json" in argv, limit=limit)
        print(text, file=sys.stdout if code == 0 else sys.stderr)
        return code
    with telemetry.session() as session:
        session.command = "bad/name" if command == "bad-name" else command  # set late
        if command == "fail":
            session.fail("invalid_manifest")
            print("error: invalid manifest", file=sys.stderr)
            return 1
        if command == "manifest":
            try:
                raise StrictManifestError("bad key")
            except ManifestError as error:
                session.fail(telemetry.error_code_for(error))
                print(f"error: {error}", file=sys.stderr)
                return 1
        if command == "crash":
            raise RuntimeError("boom from the CLI itself")
        if command == "exit":
            sys.exit(int(argv[1]))
        if command == "odd-stdin":
            sys.stdin = _OddStream()
        print(json.dumps({"result": "ok", "command": command}))
    return 0


def report_read_bytes(path: str) -> None:
    """Write the bytes this process has read so far (Linux's /proc/self/io) to `path`."""
    with open("/proc/self/io") as io:
        counters = dict(line.split(": ") for line in io.read().splitlines())
    with open(path, "w") as out:
        out.write(counters["rchar"].strip())


if __name__ == "__main__":
    status = main(sys.argv[1:])
    if os.environ.get("TINY_CLI_READ_BYTES"):
        report_read_bytes(os.environ["TINY_CLI_READ_BYTES"])
    sys.exit(status)
