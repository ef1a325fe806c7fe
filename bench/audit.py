"""How long `candor audit -- your-cli init` takes, and what it measured: `make bench-audit`.

Runs the whole audit as a user would (`candor audit --json`, a subprocess) a few times and
prints, for each, the wall time seen from outside, the audit's own duration, the number of runs
it made, and check 6's figures (what a hanging or refused endpoint adds to a run of your-cli).
It asserts nothing: the budget (under 60 s on this machine) and the figures go into the README.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

YOUR_CLI = str(Path(sys.executable).with_name("your-cli"))


def audit_once() -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory() as cwd:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "candor", "audit", "--json", "--", YOUR_CLI, "init"],
            cwd=cwd,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wall = time.monotonic() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"candor audit failed ({result.returncode}): {result.stderr.strip()}")
    report: dict[str, object] = json.loads(result.stdout)
    return wall, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="audits to run (default 3)")
    args = parser.parse_args()
    walls = []
    print(f"candor audit -- your-cli init, {args.repeat} times (load {os.getloadavg()[0]:.1f})")
    for number in range(1, args.repeat + 1):
        wall, report = audit_once()
        walls.append(wall)
        checks = report["checks"]
        assert isinstance(checks, list)
        figures = next(check["measurements"] for check in checks if check["number"] == 6)
        verdicts = "".join(check["verdict"][0] for check in checks)
        runs = report["runs"]
        assert isinstance(runs, list)
        down, hanging = figures["added_ms_endpoint_down"], figures["added_ms_endpoint_hanging"]
        print(
            f"  #{number}: {wall:5.1f} s wall ({report['duration_s']} s inside the sandbox, "
            f"{len(runs)} runs), verdicts {verdicts}; opted-out run "
            f"{figures['opted_out_ms']} ms, endpoint down {down:+} ms, hanging {hanging:+} ms"
        )
    print(f"median {statistics.median(walls):.1f} s, max {max(walls):.1f} s (budget 60 s)")


if __name__ == "__main__":
    main()
