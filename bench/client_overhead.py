"""What telemetry costs a CLI: whole-process wall time of `your-cli info` in every state.

`make bench-client` (or `python bench/client_overhead.py [--runs N]`). States, measured
interleaved (one run of each per round, so load from elsewhere hits all alike), each with its
own fresh HOME:

    no telemetry   bench/no_telemetry_cli.py: the same tiny Click CLI without candor
    opted out      your-cli with YOUR_PLATFORM_TELEMETRY_OPT_OUT=1
    answering      telemetry on, the endpoint answers 202 (a stdlib server on 127.0.0.1)
    refusing       telemetry on, nothing listens on the endpoint's port
    hanging        telemetry on, the endpoint accepts connections and never answers

After a run in the "answering" state the benchmark waits (untimed) for that run's detached
sender to finish, so its CPU use does not slow the next measurement down. It prints median and
p90 wall time per state, the added milliseconds against "no telemetry", and the import time of
`candor.client` (`python -X importtime`). It asserts nothing: figures go into the README.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support.sink, the stdlib collector stand-in

from tests.support.sink import Sink, wait_until  # noqa: E402

from candor.client.spool import Spool  # noqa: E402

PYTHON = sys.executable
YOUR_CLI = str(Path(sys.executable).with_name("your-cli"))
BASELINE = str(ROOT / "bench" / "no_telemetry_cli.py")
PLATFORM_DIR = ".your-platform"
DEFAULT_RUNS = 40
WARMUP_RUNS = 3
IMPORT_SAMPLES = 15
TARGET_ADDED_MS = 3.0  # issue #3: telemetry on, any endpoint state
TARGET_OPTED_OUT_MS = 1.0
TARGET_IMPORT_MS = 5.0
SCRUB = ("DO_NOT_TRACK", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "SSL_CERT_FILE")


class State:
    """One way of running the CLI, with its own HOME and its measured wall times."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], home: str) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.home = home
        self.times_ms: list[float] = []

    def run(self) -> float:
        started = time.perf_counter()
        subprocess.run(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return (time.perf_counter() - started) * 1000.0

    def settle(self) -> None:
        """Wait, untimed, for a sender this run started (answering state only)."""
        spool = Spool(os.path.join(self.home, PLATFORM_DIR))
        wait_until(lambda: spool.stats()["queued"] == 0, f"{self.name}: sender to deliver")


def base_environment(home: str, pycache: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SCRUB and "_TELEMETRY_" not in name and name.upper() not in SCRUB
    }
    env["HOME"] = home
    # Users run with compiled .pyc files; a PYTHONDONTWRITEBYTECODE environment would make
    # every run compile every module. Cache them outside the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def make_states(workdir: str, answering: str, refusing: str, hanging: str) -> list[State]:
    states = []
    for name, endpoint in (
        ("no telemetry", None),
        ("opted out", None),
        ("answering", answering),
        ("refusing", refusing),
        ("hanging", hanging),
    ):
        home = tempfile.mkdtemp(prefix=name.replace(" ", "-") + "-", dir=workdir)
        env = base_environment(home, os.path.join(workdir, "pycache"))
        argv = [YOUR_CLI, "info"]
        if name == "no telemetry":
            argv = [PYTHON, BASELINE, "info"]
        elif name == "opted out":
            env["YOUR_PLATFORM_TELEMETRY_OPT_OUT"] = "1"
        else:
            env["YOUR_PLATFORM_TELEMETRY_ENDPOINT"] = str(endpoint)
        states.append(State(name, argv, env, home))
    return states


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def import_time_ms(env: dict[str, str]) -> float:
    """Median cumulative import time of candor.client in a fresh interpreter."""
    samples = []
    for _ in range(IMPORT_SAMPLES + 1):  # the first one compiles
        result = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", "import candor.client"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        for line in result.stderr.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if len(parts) == 3 and parts[2] == "candor.client":
                samples.append(int(parts[1]) / 1000.0)
    return statistics.median(samples[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed runs per state")
    args = parser.parse_args()
    if not os.path.exists(YOUR_CLI):
        print(f"{YOUR_CLI} is missing: run `make install` first", file=sys.stderr)
        return 2
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(128)  # connections complete in the kernel and are never accepted
    with tempfile.TemporaryDirectory(prefix="candor-bench-") as workdir, Sink() as sink:
        states = make_states(
            workdir,
            answering=sink.url,
            refusing=f"http://127.0.0.1:{unused_port()}/v1/event",
            hanging=f"http://127.0.0.1:{hanging.getsockname()[1]}/v1/event",
        )
        # Warm-up: page cache and .pyc files, and the first run of each HOME, which only
        # shows the notice and creates the config.
        for state in states:
            for _ in range(WARMUP_RUNS):
                state.run()
                if state.name == "answering":
                    state.settle()
        for _ in range(args.runs):
            for state in states:
                state.times_ms.append(state.run())
                if state.name == "answering":
                    state.settle()
        delivered = len(sink.events)
        imported = import_time_ms(states[1].env)
    hanging.close()
    report(states, args.runs, delivered, imported)
    return 0


def report(states: list[State], runs: int, delivered: int, imported: float) -> None:
    base = states[0]
    base_median, base_p90 = statistics.median(base.times_ms), percentile(base.times_ms, 0.9)
    print(f"`your-cli info`, whole process, {runs} runs per state, interleaved ({os.cpu_count()}")
    print(f"CPUs, Python {sys.version.split()[0]}); events delivered in 'answering': {delivered}")
    print()
    print(f"{'state':<14} {'median ms':>10} {'p90 ms':>8} {'added median':>13} {'added p90':>10}")
    for state in states:
        median, p90 = statistics.median(state.times_ms), percentile(state.times_ms, 0.9)
        added = "" if state is base else f"{median - base_median:+.1f}"
        added_p90 = "" if state is base else f"{p90 - base_p90:+.1f}"
        print(f"{state.name:<14} {median:>10.1f} {p90:>8.1f} {added:>13} {added_p90:>10}")
    print()
    print(f"import candor.client: {imported:.2f} ms (median of {IMPORT_SAMPLES}, -X importtime)")
    print(
        f"targets: added median <= {TARGET_ADDED_MS:g} ms with telemetry on, "
        f"<= {TARGET_OPTED_OUT_MS:g} ms opted out; import < {TARGET_IMPORT_MS:g} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
