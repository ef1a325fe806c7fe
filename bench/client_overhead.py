"""What telemetry costs a CLI: whole-process wall time of `your-cli info` in every state.

`make bench-client` (or `python bench/client_overhead.py [--runs N]`). States, measured
interleaved (one run of each per round, so load from elsewhere hits all alike), each with its
own fresh HOME:

    no telemetry   bench/no_telemetry_cli.py: the same tiny Click CLI without candor
    opted out      your-cli with YOUR_PLATFORM_TELEMETRY_OPT_OUT=1
    answering      telemetry on, the endpoint answers 202 (a stdlib server on 127.0.0.1); runs
                   a round apart, as in a script: a sender still lingering from the previous
                   run takes the event, the run starts no process
    answering cold the same, but each run waits (untimed) until no sender runs, so every
                   run pays for starting one: an occasional interactive command
    refusing       telemetry on, nothing listens on the endpoint's port
    hanging        telemetry on, the endpoint accepts connections and never answers

After a run in an "answering" state the benchmark waits (untimed) until its event is
delivered, so the sender's CPU use does not slow the next measurement down. It prints median and
p90 wall time per state, the added milliseconds against "no telemetry", the CPU time of the CLI
process (steadier than wall time on a busy machine; the detached sender is not included), and
the import time of `candor.client` (`python -X importtime`). It asserts nothing: figures go
into the README.
"""

from __future__ import annotations

import argparse
import os
import resource
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

from candor.client._fs import file_lock  # noqa: E402
from candor.client.spool import Spool  # noqa: E402

PYTHON = sys.executable
YOUR_CLI = str(Path(sys.executable).with_name("your-cli"))
BASELINE = str(ROOT / "bench" / "no_telemetry_cli.py")
PLATFORM_DIR = ".your-platform"
DEFAULT_RUNS = 40
WARMUP_RUNS = 3
IMPORT_SAMPLES = 15
IN_PROCESS_SAMPLES = 20
TARGET_ADDED_MS = 3.0  # issue #3: telemetry on, any endpoint state
TARGET_OPTED_OUT_MS = 1.0
TARGET_IMPORT_MS = 5.0
SCRUB = ("DO_NOT_TRACK", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "SSL_CERT_FILE")


class State:
    """One way of running the CLI, with its own HOME and its measured wall times."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], home: str) -> None:
        self.name = name
        self.spool = Spool(os.path.join(home, PLATFORM_DIR))
        self.argv = argv
        self.env = env
        self.home = home
        self.times_ms: list[float] = []
        self.cpu_ms: list[float] = []

    def run(self) -> tuple[float, float]:
        """One run: its wall time and the CPU time (user + system) of the CLI process."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        wall = (time.perf_counter() - started) * 1000.0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Only waited-for children count: the CLI, not the detached sender it may start.
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000.0
        return wall, cpu

    def before(self) -> None:
        """Untimed: in the cold state, wait until no sender runs (so this run starts one)."""
        if self.name == "answering cold" and os.path.isdir(self.spool.directory):
            wait_until(self._no_sender, f"{self.name}: the sender to exit")

    def after(self) -> None:
        """Untimed: in the answering states, wait until the run's event is delivered."""
        if self.name.startswith("answering"):
            wait_until(lambda: self.spool.stats()["queued"] == 0, f"{self.name}: delivery")

    def _no_sender(self) -> bool:
        return _sender_gone(self.spool)


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
        ("answering cold", answering),
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


def delivery_costs_us(workdir: str, endpoint: str) -> dict[str, float]:
    """Median in-process cost of the delivery steps a recording CLI pays, in microseconds."""
    from candor.client.launcher import start_sender_if_needed

    directory = tempfile.mkdtemp(prefix="in-process-", dir=workdir)
    spool = Spool(directory)
    event = {
        "event_version": "1.0", "installation_id": "0b7f2a8e-4c1d-4e5f-9a6b-3c2d1e0f9a8b",
        "cli_version": "0.2.1", "command": "info", "os_arch": "linux-x86_64",
        "duration_ms": 3, "status": "success", "error_code": None, "is_interactive": False,
    }  # fmt: skip
    costs: dict[str, list[float]] = {"append": [], "launcher, backoff": [], "launcher, spawn": []}
    for _ in range(IN_PROCESS_SAMPLES):
        started = time.perf_counter()
        spool.append(event)
        costs["append"].append(time.perf_counter() - started)
        wait_until(lambda: _sender_gone(spool), "the previous sender to exit")
        started = time.perf_counter()
        start_sender_if_needed(directory, endpoint, os.environ)
        costs["launcher, spawn"].append(time.perf_counter() - started)
        wait_until(lambda: spool.stats()["queued"] == 0, "in-process delivery")
    with spool.locked() as tx:
        tx.state["next_attempt_at"] = time.time() + 600
        tx.save_state()
    spool.append(event)
    for _ in range(IN_PROCESS_SAMPLES):
        started = time.perf_counter()
        start_sender_if_needed(directory, endpoint, os.environ)
        costs["launcher, backoff"].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1e6 for name, values in costs.items()}


def _sender_gone(spool: Spool) -> bool:
    with file_lock(spool.sender_lock_path, blocking=False) as lock:
        return lock.acquired


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
                state.before()
                state.run()
                state.after()
        for _ in range(args.runs):
            for state in states:
                state.before()
                wall, cpu = state.run()
                state.after()
                state.times_ms.append(wall)
                state.cpu_ms.append(cpu)
        delivered = len(sink.events)
        imported = import_time_ms(states[1].env)
        costs = delivery_costs_us(workdir, sink.url)
    hanging.close()
    report(states, args.runs, delivered, imported)
    print("delivery steps inside the CLI process (median, in-process):")
    print("  " + ", ".join(f"{name} {value:.0f} us" for name, value in costs.items()))
    return 0


def report(states: list[State], runs: int, delivered: int, imported: float) -> None:
    base = states[0]
    base_median, base_p90 = statistics.median(base.times_ms), percentile(base.times_ms, 0.9)
    base_cpu = statistics.median(base.cpu_ms)
    print(f"`your-cli info`, whole process, {runs} runs per state, interleaved")
    print(f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python ", end="")
    print(f"{sys.version.split()[0]}); events delivered: {delivered}")
    print()
    header = ("state", "median ms", "p90 ms", "added median", "added p90", "CPU ms", "added CPU")
    print("{:<15} {:>10} {:>8} {:>13} {:>10} {:>8} {:>10}".format(*header))
    for state in states:
        median, p90 = statistics.median(state.times_ms), percentile(state.times_ms, 0.9)
        cpu = statistics.median(state.cpu_ms)
        added = ["", "", ""]
        if state is not base:
            added = [
                f"{median - base_median:+.1f}",
                f"{p90 - base_p90:+.1f}",
                f"{cpu - base_cpu:+.1f}",
            ]
        print(
            f"{state.name:<15} {median:>10.1f} {p90:>8.1f} {added[0]:>13} {added[1]:>10} "
            f"{cpu:>8.1f} {added[2]:>10}"
        )
    print()
    print(f"import candor.client: {imported:.2f} ms (median of {IMPORT_SAMPLES}, -X importtime)")
    print(
        f"targets: added median <= {TARGET_ADDED_MS:g} ms with telemetry on, "
        f"<= {TARGET_OPTED_OUT_MS:g} ms opted out; import < {TARGET_IMPORT_MS:g} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
