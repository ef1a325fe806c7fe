"""What telemetry costs a CLI: whole-process wall and CPU time of `your-cli info` in every state.

`make bench-client` (or `python bench/client_overhead.py [--seconds S]`). States, each with its
own fresh HOME:

    no telemetry   bench/no_telemetry_cli.py: your-cli's own Click program (the `cli`
                   group of candor.demo.your_cli) run without candor, not even its package
    opted out      your-cli with YOUR_PLATFORM_TELEMETRY_OPT_OUT=1
    answering      telemetry on, the endpoint answers 202 (a stdlib server on 127.0.0.1); runs
                   follow each other as in a script, so a sender still lingering from an
                   earlier run takes the event and the run starts no process
    answering cold the same, but a run happens only when no sender runs, so every run pays for
                   starting one: an occasional interactive command
    refusing       telemetry on, nothing listens on the endpoint's port
    hanging        telemetry on, the endpoint accepts connections and never answers

On a busy 2-core machine wall time is noisy, so: the states are interleaved, one run of each
per round in a shuffled order, for a fixed time (load from elsewhere hits them all alike); the
first runs are discarded (page cache, bytecode, each HOME's first run, which only shows the
notice); the CPU time of the CLI process (user + system, from wait4; the detached sender is not
included) is reported beside wall time, as it is far steadier; each median comes with a
distribution-free 95 % confidence interval. After a run in an "answering" state the benchmark
waits (untimed) until its event is delivered, so the sender's work does not land in the next
measurement.

`--instructions` (`make bench-client-instructions`) counts instead, with `valgrind
--tool=callgrind`, the instructions one `your-cli info` process executes in each state (the
CLI process only: a sender it starts is not followed), PYTHONHASHSEED fixed: a figure that does
not move with the machine's load, to judge a change by while the wall times are noise.

Then, to show where the time goes: the import time of candor.client (`python -X importtime`)
and a breakdown of one telemetry-on run measured inside fresh processes. It asserts nothing:
figures go into the README.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
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

from candor.client.recording import file_lock  # noqa: E402
from candor.client.spool import Spool  # noqa: E402

PYTHON = sys.executable
YOUR_CLI = str(Path(sys.executable).with_name("your-cli"))
BASELINE = str(ROOT / "bench" / "no_telemetry_cli.py")
PLATFORM_DIR = ".your-platform"
MEASURE_SECONDS = 75.0  # the measured loop; with set-up and breakdown, under two minutes
MIN_ROUNDS = 20
WARMUP_RUNS = 3
TARGET_ADDED_MS = 1.5  # issue #13: telemetry on, endpoint answering, refusing or hanging
TARGET_OPTED_OUT_MS = 0.3  # issue #13
TARGET_IMPORT_MS = 5.0  # issue #3
SCRUB = ("DO_NOT_TRACK", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "SSL_CERT_FILE")
Z95 = 1.96
ORDER_SEED = 3  # the rounds' state orders are random, and the same from one run to the next


class State:
    """One way of running the CLI, with its own HOME and its measured times."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], home: str) -> None:
        self.name = name
        self.spool = Spool(os.path.join(home, PLATFORM_DIR))
        self.argv = argv
        self.env = env
        self.wall_ms: list[float] = []
        self.cpu_ms: list[float] = []

    def ready(self) -> bool:
        """Whether this state may run now: the cold state waits until no sender runs."""
        if self.name != "answering cold" or not os.path.isdir(self.spool.directory):
            return True
        return sender_gone(self.spool)

    def run(self) -> tuple[float, float]:
        """One run: its wall time and the CPU time (user + system) of the CLI process."""
        return timed_run(self.argv, self.env)

    def after(self) -> None:
        """Untimed: in the answering states, wait until the run's event is delivered."""
        if self.name.startswith("answering"):
            wait_until(lambda: self.spool.stats()["queued"] == 0, f"{self.name}: delivery")


def timed_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run `argv` with stdio on /dev/null; its wall time and its own CPU time, in ms."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        # posix_spawn and wait4: no fork of this (threaded) process, and the rusage of
        # exactly this child, not of every child ever waited for.
        started = time.perf_counter()
        pid = os.posix_spawn(
            argv[0],
            argv,
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)],
        )
        _, status, usage = os.wait4(pid, 0)
        wall = (time.perf_counter() - started) * 1000.0
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed with status {status}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000.0


def sender_gone(spool: Spool) -> bool:
    """No sender holds the sender lock (the probe holds it for microseconds)."""
    with file_lock(spool.sender_lock_path, blocking=False) as lock:
        return lock.acquired


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
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def median_ci(values: list[float]) -> float:
    """Half-width of a distribution-free 95 % confidence interval of the median."""
    ordered, n = sorted(values), len(values)
    half = Z95 * math.sqrt(n) / 2
    low, high = max(0, math.floor(n / 2 - half)), min(n - 1, math.ceil(n / 2 + half))
    return (ordered[high] - ordered[low]) / 2


def measure(states: list[State], seconds: float, min_rounds: int) -> int:
    """Interleaved rounds for `seconds` (and at least `min_rounds`); the number of rounds."""
    for state in states:  # warm-up, discarded
        for _ in range(WARMUP_RUNS):
            wait_until(state.ready, f"{state.name}: the sender to exit")
            state.run()
            state.after()
    rounds, deadline = 0, time.monotonic() + seconds
    shuffle = random.Random(ORDER_SEED).shuffle
    order = list(states)
    while rounds < min_rounds or time.monotonic() < deadline:
        # A new order each round: whatever a run leaves behind (the cold state's sender
        # lingers a second, then exits) slows the next run, whichever state that is.
        shuffle(order)
        for state in order:
            # The cold state runs only in rounds where its last sender has exited (about one
            # round in four): it gets fewer samples, the others do not wait for it.
            if not state.ready():
                continue
            wall, cpu = state.run()
            state.after()
            state.wall_ms.append(wall)
            state.cpu_ms.append(cpu)
        rounds += 1
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=MEASURE_SECONDS, help="measured time")
    parser.add_argument("--min-rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions with callgrind instead"
    )
    args = parser.parse_args()
    if not os.path.exists(YOUR_CLI):
        print(f"{YOUR_CLI} is missing: run `make install` first", file=sys.stderr)
        return 2
    if args.instructions:
        return count_instructions()
    load_start = os.getloadavg()
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
        started = time.monotonic()
        rounds = measure(states, args.seconds, args.min_rounds)
        elapsed = time.monotonic() - started
        delivered = len(sink.events)
        imported = import_times(states[1].env)
        breakdown = record_breakdown(workdir, sink.url, states[1].env)
    hanging.close()
    report(states, rounds, elapsed, delivered, load_start)
    print()
    client, click_layer = imported["candor.client"], imported["candor.integrations.click"]
    met = "met" if client < TARGET_IMPORT_MS else "NOT met"
    verdict = f"target < {TARGET_IMPORT_MS:g} ms {met}"
    how = f"median of {BREAKDOWN_RUNS}, -X importtime, after Click"
    print(f"import candor.client: {client:.2f} ms ({how}): {verdict}")
    print(f"import candor.integrations.click on top of it: {click_layer:.2f} ms")
    print()
    print(f"where a telemetry-on run spends its time (median of {BREAKDOWN_RUNS} fresh processes,")
    print("answering state: a sender is running; inside the process, so start-up and exit are not")
    print("included):")
    for label, value in breakdown:
        print(f"  {label:<66}{value:6.2f} ms")
    return 0


# After Click (the host's own import, unmeasured): the client, then the integration on top.
IMPORT_PROBE = "import click, candor.client, candor.integrations.click"
BREAKDOWN_RUNS = 25
# One telemetry-on run of your-cli's steps, timed inside the process. Prints one JSON list of
# [label, seconds] pairs on stderr.
BREAKDOWN_CHILD = r"""
import sys, time
clock = time.perf_counter
import candor.demo.your_cli  # the host CLI's own program (it loads candor in main), unmeasured
marks = []
def step(label, started):
    marks.append([label, clock() - started])
    return clock()
t = clock()
from candor.client import Telemetry
from candor.integrations.click import instrument
t = step("import candor.client and candor.integrations.click", t)
from candor.demo.your_cli import cli, create_telemetry
telemetry = create_telemetry()
instrument(cli, telemetry)
t = step("Telemetry(...) and instrument(cli, telemetry)", t)
before = set(sys.modules)
telemetry.record("info", 3.0)
loaded = sorted(set(sys.modules) - before)  # json would show here: it must not
t = step("first record(): imports " + " ".join(m.rsplit(".", 1)[-1] for m in loaded), t)
telemetry.record("info", 3.0)
t = step("second record(): read config, build + validate, append, sender check", t)
import json  # only now: recording does not load it, and the report must not count it
sys.stderr.write(json.dumps(marks) + "\n")
"""


def import_times(env: dict[str, str]) -> dict[str, float]:
    """Median cumulative `-X importtime` of the client and of the Click integration on top."""
    samples: dict[str, list[float]] = {"candor.client": [], "candor.integrations.click": []}
    for _ in range(BREAKDOWN_RUNS + 1):  # the first one may compile
        result = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", IMPORT_PROBE],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        for line in result.stderr.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if len(parts) == 3 and parts[2] in samples:
                samples[parts[2]].append(int(parts[1]) / 1000.0)
    return {name: statistics.median(values[1:]) for name, values in samples.items()}


def record_breakdown(workdir: str, endpoint: str, env: dict[str, str]) -> list[tuple[str, float]]:
    """Median time of each step of a telemetry-on run, in fresh processes, in ms."""
    home = tempfile.mkdtemp(prefix="breakdown-", dir=workdir)
    directory = os.path.join(home, PLATFORM_DIR)
    os.mkdir(directory, 0o700)
    with open(os.path.join(directory, "config.json"), "w") as config:
        config.write('{"installation_id": "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c", '
                     '"telemetry": {"notice_shown": true}}')  # fmt: skip
    env = {**env, "HOME": home, "YOUR_PLATFORM_TELEMETRY_ENDPOINT": endpoint}
    env.pop("YOUR_PLATFORM_TELEMETRY_OPT_OUT", None)
    steps: dict[str, list[float]] = {}
    # Holding the sender lock plays a running sender: the launcher looks, and spawns nothing.
    with file_lock(Spool(directory).sender_lock_path):
        for run in range(BREAKDOWN_RUNS + 1):
            result = subprocess.run(
                [PYTHON, "-c", BREAKDOWN_CHILD], capture_output=True, text=True, check=True, env=env
            )
            if run:  # the first one may compile
                for label, seconds in json.loads(result.stderr.splitlines()[-1]):
                    steps.setdefault(label, []).append(seconds * 1000.0)
    return [(label, statistics.median(values)) for label, values in steps.items()]


AS_IN = {
    "recording, a sender runs": "answering, hanging",
    "recording, backoff pending": "refusing",
    "recording, starts a sender": "answering cold",
}
INSTRUCTION_RUNS = 3  # callgrind's counts vary by a few thousand: the median of three
CALLGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]


def callgrind_count(argv: list[str], env: dict[str, str]) -> int:
    """Instructions executed by one process of `argv` (its children are not followed)."""
    result = subprocess.run(
        [*CALLGRIND, *argv], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} under callgrind failed:\n{result.stderr}")
    for line in result.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise SystemExit(f"no instruction count in callgrind's output:\n{result.stderr}")


def count_instructions() -> int:
    """`--instructions`: callgrind's count of one `your-cli info` process in each state."""
    if shutil.which("valgrind") is None:
        print("valgrind is missing (apt-get install valgrind)", file=sys.stderr)
        return 2
    load_start = os.getloadavg()
    refusing = f"http://127.0.0.1:{unused_port()}/v1/event"
    with tempfile.TemporaryDirectory(prefix="candor-bench-") as workdir:
        pycache = os.path.join(workdir, "pycache")

        def state(name: str, **variables: str) -> tuple[list[str], dict[str, str], Spool]:
            home = tempfile.mkdtemp(prefix=name.replace(" ", "-") + "-", dir=workdir)
            directory = os.path.join(home, PLATFORM_DIR)
            os.mkdir(directory, 0o700)
            with open(os.path.join(directory, "config.json"), "w") as config:
                config.write('{"installation_id": "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c", '
                             '"telemetry": {"notice_shown": true}}')  # fmt: skip
            env = {**base_environment(home, pycache), "PYTHONHASHSEED": "0", **variables}
            argv = [PYTHON, BASELINE, "info"] if name == "no telemetry" else [YOUR_CLI, "info"]
            return argv, env, Spool(directory)

        on = {"YOUR_PLATFORM_TELEMETRY_ENDPOINT": refusing}
        counts: list[tuple[str, int]] = []
        for name, variables in (
            ("no telemetry", {}),
            ("opted out", {"YOUR_PLATFORM_TELEMETRY_OPT_OUT": "1"}),
            ("recording, a sender runs", on),
            ("recording, backoff pending", on),
            ("recording, starts a sender", on),
        ):
            argv, env, spool = state(name, **variables)
            timed_run(argv, env)  # compiles what this state imports; not counted
            samples = []
            for _ in range(INSTRUCTION_RUNS):
                if name == "recording, a sender runs":
                    with file_lock(spool.sender_lock_path):  # plays the running sender
                        samples.append(callgrind_count(argv, env))
                    continue
                wait_until(lambda spool=spool: sender_gone(spool), f"{name}: sender to exit")
                if name == "recording, starts a sender":  # nothing queued, no backoff
                    for path in (spool.path, spool.state_path):
                        if os.path.exists(path):
                            os.unlink(path)
                samples.append(callgrind_count(argv, env))
            counts.append((name, int(statistics.median(samples))))
            wait_until(lambda spool=spool: sender_gone(spool), f"{name}: sender to exit")
    load_end = os.getloadavg()
    print("`your-cli info`, instructions of the CLI process (valgrind --tool=callgrind,")
    python = sys.version.split()[0]
    print(f"PYTHONHASHSEED=0, median of {INSTRUCTION_RUNS}; Python {python}; load average")
    print(f"{load_start[0]:.2f} at start, {load_end[0]:.2f} at end, which the counts ignore)")
    print()
    base = counts[0][1]
    print(f"{'state':<30}{'instructions':>15}{'added':>12}   as in the wall-clock states")
    for name, count in counts:
        added = "" if name == "no telemetry" else f"{(count - base) / 1e6:+.2f} M"
        print(f"{name:<30}{count / 1e6:>13.2f} M{added:>12}   {AS_IN.get(name, '')}")
    return 0


def report(
    states: list[State], rounds: int, elapsed: float, delivered: int, load_start: tuple[float, ...]
) -> None:
    base = states[0]
    base_wall, base_p90 = statistics.median(base.wall_ms), percentile(base.wall_ms, 0.9)
    base_cpu = statistics.median(base.cpu_ms)
    load_end = os.getloadavg()
    print(f"`your-cli info`, whole process: {rounds} interleaved rounds in {elapsed:.0f} s")
    print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; load average "
        f"{load_start[0]:.2f} at start, {load_end[0]:.2f} at end; events delivered: {delivered}"
    )
    print()
    columns = ("state", "runs", "wall med", "±95%", "p90", "CPU med", "±95%")
    added = ("+med", "+p90", "+CPU")
    print("{:<15}{:>5}{:>10}{:>7}{:>8}{:>9}{:>7}  |{:>7}{:>7}{:>7}".format(*columns, *added))
    for state in states:
        wall, p90 = statistics.median(state.wall_ms), percentile(state.wall_ms, 0.9)
        cpu = statistics.median(state.cpu_ms)
        deltas = ["", "", ""]
        if state is not base:
            deltas = [
                f"{wall - base_wall:+.2f}",
                f"{p90 - base_p90:+.1f}",
                f"{cpu - base_cpu:+.2f}",
            ]
        print(
            f"{state.name:<15}{len(state.wall_ms):>5}{wall:>10.2f}{median_ci(state.wall_ms):>7.2f}"
            f"{p90:>8.1f}{cpu:>9.2f}{median_ci(state.cpu_ms):>7.2f}  |"
            f"{deltas[0]:>7}{deltas[1]:>7}{deltas[2]:>7}"
        )
    print()
    print(
        f"targets (issue #13): added median <= {TARGET_ADDED_MS:g} ms with telemetry on, "
        f"<= {TARGET_OPTED_OUT_MS:g} ms opted out; (issue #3) import of candor.client < "
        f"{TARGET_IMPORT_MS:g} ms"
    )
    for state in states[1:]:
        target = TARGET_OPTED_OUT_MS if state.name == "opted out" else TARGET_ADDED_MS
        wall = statistics.median(state.wall_ms) - base_wall
        cpu = statistics.median(state.cpu_ms) - base_cpu
        verdict = "met" if max(wall, cpu) <= target else "NOT met"
        if state.name == "answering cold":  # issue #13 sets no target for a run that spawns
            verdict = "no target"
        print(f"  {state.name:<15} {verdict:<9} (+{wall:.2f} ms wall, +{cpu:.2f} ms CPU)")


if __name__ == "__main__":
    sys.exit(main())
