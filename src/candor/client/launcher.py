"""Start the detached sender when there is something to send and nothing already sending.

Called by the CLI after it spooled an event, once `recording.sender_wanted()` has said a sender
should start: a run during a backoff or while a sender runs does not even load this module.
When there is nothing to do (empty spool, backoff pending, a sender already running) this is
one `stat`, a small read and perhaps one `flock`: a few microseconds. Otherwise it spawns
`python -m candor.client.sender` in its own session, stdio on /dev/null, niced (it must not
slow the user's next command), and returns at once:
the CLI never waits for it (the sender is re-parented to init, which reaps it, when the CLI
exits).

At most one sender per user: the CLI takes `telemetry-sender.lock` without blocking and hands
the locked descriptor to the child, so the lock is held from before the spawn until the
sender exits. A busy lock means a sender already runs and will pick up this event.
"""

from __future__ import annotations

import os
import sys
import time

from candor.client.recording import SENDER_LOCK_FILE, delivery_due, file_lock

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from collections.abc import Mapping

SENDER_MODULE = "candor.client.sender"
# The sender's niceness: it never competes for the CPU with the user's next command (or the
# rest of this one), yet still gets a tenth of a busy core, so a loaded machine delays a
# delivery by a second or so instead of starving it into its hard deadline (SCHED_IDLE would).
SENDER_NICENESS = 10

# pidfds of senders this process started and has not reaped: a long-lived host that records
# many times reaps them on its next call instead of keeping a zombie per spawn until it exits.
# A pidfd names exactly our child: a bare waitpid(pid) could, after a reuse of the number,
# steal the exit status of one of the host's own children.
_spawned: list[int] = []


def sender_argv(directory: str, endpoint: str, lock_fd: int) -> list[str]:
    """The sender's command line: -P keeps the CLI's working directory off sys.path."""
    return [
        sys.executable, "-P", "-m", SENDER_MODULE,
        "--directory", directory, "--endpoint", endpoint, "--lock-fd", str(lock_fd),
    ]  # fmt: skip


def start_sender_if_needed(directory: str, endpoint: str, environ: Mapping[str, str]) -> None:
    """Spawn the detached sender only if the spool has events, no sender runs, no backoff.

    `environ` (a str → str mapping, usually the one `Telemetry` read) becomes the sender's
    environment, so HTTPS_PROXY, NO_PROXY and SSL_CERT_FILE reach it. Raises OSError when the
    spawn fails; the caller swallows it and the event waits for the next run.
    """
    if _spawned:
        _reap()
    if not sys.executable:  # an embedded interpreter cannot start `python -m ...`
        return
    if not delivery_due(directory, time.time()):
        return
    with file_lock(os.path.join(directory, SENDER_LOCK_FILE), blocking=False) as lock:
        if not lock.acquired:
            return  # a sender is running; it loops until the spool is empty
        fd = lock.fileno()
        os.set_inheritable(fd, True)
        pid = _spawn_detached(sender_argv(directory, endpoint, fd), dict(environ), fd)
        _lower_priority(pid)
        _track(pid)
        # Leaving the block closes the CLI's copy of the descriptor; the child's copy keeps
        # the lock until the sender exits.


def _lower_priority(pid: int) -> None:
    # Set from here, one syscall: posix_spawn cannot renice its child, and the sender doing it
    # itself would come after its interpreter's start-up, the busiest part of its run. The
    # microseconds it runs at the normal priority before this are an exec, nothing more.
    setpriority = getattr(os, "setpriority", None)  # POSIX
    if setpriority is not None:
        try:  # noqa: SIM105 - contextlib would cost the host CLI an import
            setpriority(os.PRIO_PROCESS, pid, SENDER_NICENESS)
        except OSError:  # already exited (nothing to deliver), or a system that refuses
            pass


def _track(pid: int) -> None:
    pidfd_open = getattr(os, "pidfd_open", None)  # Linux 5.3+; elsewhere init reaps at exit
    if pidfd_open is not None:
        try:  # noqa: SIM105 - contextlib would cost the host CLI an import
            _spawned.append(pidfd_open(pid))
        except OSError:
            pass


def _reap() -> None:
    for pidfd in list(_spawned):
        try:
            exited = os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG) is not None
        except ChildProcessError:  # reaped by the host's own SIGCHLD handling
            exited = True
        if exited:
            os.close(pidfd)
            _spawned.remove(pidfd)


def _spawn_detached(argv: list[str], env: dict[str, str], lock_fd: int) -> int:
    devnull = os.devnull
    if hasattr(os, "posix_spawn"):
        try:
            # posix_spawn (vfork + exec in glibc) costs the CLI a fraction of a millisecond;
            # fork() of a big CLI process, or the subprocess module's import, costs more.
            return os.posix_spawn(
                argv[0],
                argv,
                env,
                setsid=True,  # own session: no terminal, no SIGINT/SIGHUP from the user's shell
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
                ],
            )
        except NotImplementedError:  # no POSIX_SPAWN_SETSID in this libc
            pass
    import subprocess

    child = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        pass_fds=(lock_fd,),
        start_new_session=True,
    )
    return child.pid
