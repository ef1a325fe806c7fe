"""`make run`: the whole system on one machine, for a newcomer.

1. fills a local store with synthetic history (`candor generate`) so the dashboard is not empty;
2. starts the collector (`candor serve`) on 127.0.0.1;
3. runs the demo CLI `your-cli` against it with a throw-away HOME, showing the first-run notice,
   the debug view of an event, a failing build and `telemetry status`;
4. waits until the CLI's background sender has delivered, prints where the data is and the
   dashboard's address and token, and keeps serving until Ctrl-C (`--once` stops there instead).

Everything lives under ./candor-data/ (git-ignored): the store, the collector's log, the admin
token (kept, so an open dashboard tab still works after a restart) and the demo's HOME (made
afresh each run). Delete the folder to start afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from candor.server.runtime.settings import new_admin_token

BIN = Path(sys.executable).parent
DATA = Path("candor-data")
PORT = 8787
READY_TIMEOUT_S = 30
DELIVERY_TIMEOUT_S = 30
SYNTHETIC_EVENTS = 200_000

MANIFEST = 'name = "hello-web"\nversion = "1.4.0"\n'


def say(text: str) -> None:
    """A step's heading: bold on a terminal, plain text in a log or a pipe."""
    bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    line = f"\033[1m==> {text}\033[0m" if bold else f"==> {text}"
    print(f"\n{line}", flush=True)


def free_port(preferred: int) -> int:
    """`preferred` if nothing listens there, else any free loopback port.

    SO_REUSEADDR as the collector binds: the connections of a previous run, closed moments ago
    and still in TIME_WAIT, do not make the port look taken.
    """
    for port in (preferred, 0):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            bound: int = sock.getsockname()[1]
            return bound
    raise SystemExit("no free port on 127.0.0.1")


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the collector exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the collector did not answer {url}/healthz within {READY_TIMEOUT_S} s")


def your_cli(
    args: list[str], env: dict[str, str], cwd: Path, *, show: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the demo CLI as a user would, echoing the command line and its output."""
    shown = " ".join(
        [f"{k}={v}" for k, v in env.items() if k.startswith("YOUR_PLATFORM_TELEMETRY_D")]
        + ["your-cli", *args]
    )
    result = subprocess.run(
        [str(BIN / "your-cli"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if show:
        print(f"$ {shown}")
        for stream in (result.stdout, result.stderr):
            if stream.strip():
                print("  " + stream.rstrip().replace("\n", "\n  "))
        print(f"  (exit status {result.returncode})")
    return result


def wait_for_delivery(env: dict[str, str], cwd: Path) -> dict[str, object]:
    """Poll `telemetry status --json` until the spool is empty."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        result = your_cli(["telemetry", "status", "--json"], env, cwd, show=False)
        status = json.loads(result.stdout)
        if status.get("queued") == 0:
            return status
        time.sleep(0.2)
    return status


def admin_token(data: Path) -> str:
    """CANDOR_ADMIN_TOKEN if set, else the token kept in `data` (made on the first run)."""
    if os.environ.get("CANDOR_ADMIN_TOKEN"):
        return os.environ["CANDOR_ADMIN_TOKEN"]
    kept = data / "admin-token"
    if kept.exists():
        token = kept.read_text().strip()
        if token:
            return token
    token = new_admin_token()
    descriptor = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token


def fresh_home(data: Path) -> Path:
    """The demo user's HOME, emptied so the first-run notice shows again (one folder, reused)."""
    for old in (data / "home", *data.glob("home-*")):  # home-* from earlier versions
        shutil.rmtree(old, ignore_errors=True)
    home = data / "home"
    home.mkdir()
    return home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="stop after the walk-through")
    parser.add_argument("--data", type=Path, default=DATA, help="where to keep everything")
    parser.add_argument("--port", type=int, default=PORT, help="preferred port (default 8787)")
    parser.add_argument(
        "--events", type=int, default=SYNTHETIC_EVENTS, help="synthetic events for a new store"
    )
    args = parser.parse_args(argv)

    data: Path = args.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    store = data / "events.duckdb"
    token = admin_token(data)

    if not store.exists():
        say(f"Filling {store} with {args.events:,} synthetic events (candor generate)")
        subprocess.run(
            [str(BIN / "candor"), "generate", "--events", str(args.events), "--store",
             str(store)],
            check=True,
        )  # fmt: skip

    port = free_port(args.port)
    url = f"http://127.0.0.1:{port}"
    say(f"Starting the collector: candor serve --port {port} --store {store}")
    log = (data / "collector.log").open("wb")
    collector = subprocess.Popen(
        [str(BIN / "candor"), "serve", "--port", str(port), "--store", str(store)],
        env={**os.environ, "CANDOR_ADMIN_TOKEN": token},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_healthy(url, collector)
        print(f"  listening on {url} (log: {data / 'collector.log'})")

        home = fresh_home(data)
        project = home / "hello-web"
        project.mkdir()
        (project / "your-platform.toml").write_text(MANIFEST)
        env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "YOUR_PLATFORM_TELEMETRY_ENDPOINT": f"{url}/v1/event",
        }
        say("The first run shows the one-time notice and sends nothing")
        your_cli(["build"], env, project)
        say("Later runs record one event each, delivered in the background")
        your_cli(["build"], env, project)
        your_cli(["deploy", "staging", "--dry-run"], env, project)
        (project / "your-platform.toml").write_text('name = "hello-web"\n')
        your_cli(["build"], env, project)
        (project / "your-platform.toml").write_text(MANIFEST)
        say("Debug mode shows the exact JSON that would be sent, and sends nothing")
        your_cli(["info"], {**env, "YOUR_PLATFORM_TELEMETRY_DEBUG": "1"}, project)
        say("What telemetry does on this machine")
        status = wait_for_delivery(env, project)
        your_cli(["telemetry", "status"], env, project)
        if status.get("queued") != 0:
            print("  (the sender has not delivered everything yet; it keeps trying)")

        say("The answers, in the terminal (candor report; every section without --section)")
        subprocess.run(
            [str(BIN / "candor"), "report", "--url", url, "--token", token, "--since", "30d",
             "--section", "overview", "--section", "commands"],
            check=False,
        )  # fmt: skip
        say("Where the data is")
        print(f"  dashboard:  {url}/  (sign in: paste the token below into its form)")
        print(f"  token:      {token}  (kept in {data / 'admin-token'})")
        print(f"  store:      {store} (DuckDB)")
        print(f"  demo HOME:  {home}")
        print(f"  installation ID of this demo: {status.get('installation_id')}")
        venv = os.path.relpath(BIN) if BIN.is_relative_to(Path.cwd()) else str(BIN)
        print(f"\n  candor and your-cli are in {venv}/ (or: source {venv}/activate):")
        print(f"    {venv}/candor report --url {url} --token {token}")
        found = store == Path("candor-data", "events.duckdb").resolve()  # what a plain report reads
        later = f"{venv}/candor report" + ("" if found else f" --store {store}")
        print(f"    {later}     (after Ctrl-C: the same numbers, read from the store)")
        if args.once:
            return 0
        print("\nThe collector keeps running; press Ctrl-C to stop it.")
        collector.wait()
        return collector.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        if collector.poll() is None:
            collector.send_signal(signal.SIGTERM)
            try:
                collector.wait(timeout=15)
            except subprocess.TimeoutExpired:
                collector.kill()
        log.close()


if __name__ == "__main__":
    raise SystemExit(main())
