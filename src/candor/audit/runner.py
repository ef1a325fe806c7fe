"""One run of the program under audit, inside the sandbox, and everything observed about it.

A run gets a fresh copy of the working directory (always the same path, so outputs compare),
the given HOME, a minimal environment, and stdout/stderr into files (a pipe would make the
audit wait for any background process that inherited it). Its stdin is a pipe holding one
newline and then end of file: closed for every purpose, the answer "default" to any prompt,
and proof of whether the program read it (the newline is still there afterwards, or not).
It is killed when it outlives the timeout. Afterwards the runner lists the processes left in
the PID namespace (the audit is its PID 1: every orphan is re-parented to it and shown in
/proc), waits a moment for them when background work is allowed (a detached sender
delivering), then kills them all, so the next run starts from a namespace with nothing but
the audit in it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from typing import TYPE_CHECKING

from candor.audit import processes, trace
from candor.audit.canaries import FILE_NAME

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from candor.audit.canaries import Canaries
    from candor.audit.endpoint import CaptureEndpoint, DnsRecorder, Listener, Request
    from candor.audit.trace import Attempt, Tracer

STDIN_PROBE = b"\n"


class Run:
    """What one invocation did."""

    def __init__(self, label: str, argv: list[str]) -> None:
        self.label = label
        self.argv = argv
        self.exit_status: int | None = None  # None: killed at the timeout
        self.stdout = b""
        self.stderr = b""
        self.wall_ms = 0.0
        self.timed_out = False
        self.leftovers: list[str] = []  # processes still running when the program exited
        self.traced = False
        self.attempts: list[Attempt] = []  # network system calls (traced runs only)
        self.dns: list[str] = []
        self.requests: list[Request] = []  # at the capture endpoint
        self.connections = 0  # TCP connections the capture endpoint accepted
        self.plain_requests: list[Request] = []  # at the plain-text listener
        self.plain_connections = 0
        self.home_changes: list[str] = []
        self.read_stdin = False  # it consumed the newline waiting on its stdin

    def network_activity(self) -> list[str]:
        """Every sign of network use, one line each (empty: none observed)."""
        lines = [str(attempt) for attempt in self.attempts]
        lines += [f"DNS lookup of {name!r} (recorded by the DNS recorder)" for name in self.dns]
        if self.connections:
            lines.append(f"{self.connections} connection(s) accepted by the capture endpoint")
        if self.plain_connections:
            lines.append(f"{self.plain_connections} connection(s) to the plain-text listener")
        return lines

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "argv": self.argv,
            "exit_status": self.exit_status,
            "timed_out": self.timed_out,
            "wall_ms": round(self.wall_ms, 1),
            "stdout_bytes": len(self.stdout),
            "stderr_bytes": len(self.stderr),
            "traced": self.traced,
            "network": self.network_activity(),
            "requests": len(self.requests),
            "leftover_processes": self.leftovers,
            "home_changes": self.home_changes,
            "read_stdin": self.read_stdin,
        }


class Runner:
    """Runs the program with the audit's environment and listeners; see the module docstring."""

    def __init__(
        self,
        work: str,
        base_env: dict[str, str],
        canaries: Canaries,
        endpoint: CaptureEndpoint,
        plain: Listener | None,
        dns: DnsRecorder,
        tracer: Tracer | None,
        timeout: float,
        settle: float,
    ) -> None:
        self.work = work
        self.cwd = os.path.join(work, "cwd", f"project-{canaries.cwd}")
        self.base_env = base_env
        self.canaries = canaries
        self.endpoint = endpoint
        self.plain = plain
        self.dns = dns
        self.tracer = tracer
        self.timeout = timeout
        self.settle = settle
        self.runs: list[Run] = []
        self.template: str | None = None  # copied as the working directory of every run

    def home(self, name: str, copy_of: str | None = None) -> str:
        path = os.path.join(self.work, "homes", name)
        if copy_of is not None:
            shutil.copytree(copy_of, path, symlinks=True)
            return path
        os.makedirs(path)
        # Where a program looks for who you are (git-aware CLIs do): the user canary again.
        with open(os.path.join(path, ".gitconfig"), "w", encoding="utf-8") as file:
            user = self.canaries.user
            file.write(f"[user]\n\tname = {user}\n\temail = {user}@example.com\n")
        return path

    def run(
        self,
        label: str,
        home: str,
        argv: list[str],
        env: Mapping[str, str | None] | None = None,
        *,
        traced: bool = False,
        endpoint_mode: str = "accept",
        background: bool = True,
        until: Callable[[], bool] | None = None,
    ) -> Run:
        """Run `argv` once.

        `background`: let the processes it leaves finish (up to the settle time) before they
        are killed; `until`: let them run only until this is true (or the settle time passes).
        """
        run = Run(label, argv)
        self.runs.append(run)
        self._fresh_cwd()
        before = snapshot(home)
        environ = {**self.base_env, "HOME": home, "TMPDIR": self._tmpdir(len(self.runs))}
        for name, value in (env or {}).items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        log = os.path.join(self.work, f"run-{len(self.runs)}.strace")
        prefix = self.tracer.argv(log) if traced and self.tracer else []
        run.traced = bool(prefix)
        self.endpoint.start_run(label, endpoint_mode)
        if self.plain is not None:
            self.plain.start_run(label)
        self.dns.run = label
        number = len(self.runs)
        out_path, err_path = (
            os.path.join(self.work, f"run-{number}.{kind}") for kind in ("out", "err")
        )
        stdin, feed = os.pipe()
        os.write(feed, STDIN_PROBE)
        os.close(feed)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            started = time.monotonic()
            try:
                process = subprocess.Popen(
                    [*prefix, *argv],
                    cwd=self.cwd,
                    env=environ,
                    stdin=stdin,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            except OSError as error:
                err.write(f"candor audit: cannot start {argv[0]}: {error}\n".encode())
                run.exit_status = 127
                process = None
            if process is not None:
                if processes.exited_within(process.pid, self.timeout):
                    run.wall_ms = (time.monotonic() - started) * 1000.0
                    run.exit_status = process.wait()
                else:
                    run.wall_ms = (time.monotonic() - started) * 1000.0
                    run.timed_out = True
                    processes.kill_all(exclude=log)
                    process.wait()
            else:
                run.wall_ms = (time.monotonic() - started) * 1000.0
        left = processes.others(exclude=log)
        run.leftovers = [description for _, description in left]
        if left and not run.timed_out and (background or until is not None):
            processes.wait_for_others(time.monotonic() + self.settle, log, until)
        processes.kill_all(exclude=log)
        run.read_stdin = _consumed(stdin)
        self.endpoint.release()
        if self.plain is not None:
            self.plain.release()
        if run.traced:
            processes.finish_tracer(log)
            with open(log, encoding="utf-8", errors="replace") as file:
                run.attempts = trace.parse(file.read())
        with open(out_path, "rb") as file:
            run.stdout = file.read()
        with open(err_path, "rb") as file:
            run.stderr = file.read()
        run.home_changes = changes(before, snapshot(home))
        run.requests = self.endpoint.requests_of(label)
        run.connections = self.endpoint.connections_of(label)
        if self.plain is not None:
            run.plain_requests = self.plain.requests_of(label)
            run.plain_connections = self.plain.connections_of(label)
        run.dns = self.dns.queries_of(label)
        self.dns.run = ""
        return run

    def _fresh_cwd(self) -> None:
        shutil.rmtree(self.cwd, ignore_errors=True)
        if self.template is not None:
            shutil.copytree(self.template, self.cwd, symlinks=True)
        else:
            os.makedirs(self.cwd)
        with open(os.path.join(self.cwd, FILE_NAME), "a", encoding="utf-8") as file:
            file.write(f"meeting notes: the launch code is {self.canaries.file}\n")

    def _tmpdir(self, number: int) -> str:
        path = os.path.join(self.work, "tmp", str(number))
        os.makedirs(path, exist_ok=True)
        return path


def _consumed(read_end: int) -> bool:
    """Whether the program read the probe from its stdin pipe (closes our end)."""
    os.set_blocking(read_end, False)
    try:
        left = os.read(read_end, len(STDIN_PROBE))
    except BlockingIOError:
        left = b""
    finally:
        os.close(read_end)
    return left != STDIN_PROBE


# ---------------------------------------------------------------- HOME before and after


def snapshot(root: str) -> dict[str, tuple[int, int, int]]:
    """relative path → (mode, size, mtime_ns) of everything under `root`."""
    found = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            found[os.path.relpath(path, root)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def changes(
    before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]
) -> list[str]:
    """What changed under HOME; a directory whose entries changed is told by its entries."""
    lines = [f"created ~/{path}" for path in sorted(set(after) - set(before))]
    lines += [f"deleted ~/{path}" for path in sorted(set(before) - set(after))]
    lines += [
        f"modified ~/{path}"
        for path in sorted(set(before) & set(after))
        if before[path] != after[path] and not stat.S_ISDIR(after[path][0])
    ]
    return lines
