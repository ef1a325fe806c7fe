"""`python -m candor.client.sender`: deliver the spool to the collector, then exit.

Started detached by `launcher.py` (with `--lock-fd`, the inherited `telemetry-sender.lock`) or
in the foreground by a person or a test (it then takes the lock itself). One run:

1. arms a hard wall-clock deadline: SIGALRM with its default action kills the process, which
   also covers DNS resolution (a socket timeout does not, and a Python signal handler would not
   run until `getaddrinfo` returns). Being killed is safe: see 2;
2. per batch, under the spool lock: picks the batch (the in-flight one again if a previous run
   died or failed, with the same Idempotency-Key), and persists the key and a pessimistic
   backoff *before* posting, so a kill at any point counts as a failed attempt;
3. posts it (urllib: HTTPS_PROXY/NO_PROXY from the environment, TLS verified with
   SSL_CERT_FILE if set, no redirect followed, REQUEST_TIMEOUT_S per socket operation);
4. under the lock again: removes exactly the acknowledged records and clears the backoff, or
   keeps them and persists the backoff (a 429 or 503 Retry-After honoured);
5. loops until the spool is empty, an attempt fails, or half the deadline is spent; then,
   started by a CLI, lingers a moment (LINGER_S) for events of CLI runs that follow, so that a
   script calling the CLI in a loop starts one sender rather than one per run.

Exit status: 0 spool empty, 1 events remain, 2 bad arguments, 3 another sender is running.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import ipaddress
import json
import os
import random
import signal
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime

from candor import __version__
from candor.client.history import add_sent
from candor.client.recording import open_regular
from candor.client.spool import Record, Spool, as_int, backoff_pending
from candor.schema import MAX_BATCH_EVENTS, MAX_BODY_BYTES, validate_event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from candor.client.spool_rewrite import SpoolTransaction

REQUEST_TIMEOUT_S = 5.0  # connect, and each read: a collector answers in milliseconds
RUN_DEADLINE_S = 30.0  # whole run, DNS included; no new batch after half of it
BACKOFF_BASE_S = 30.0  # first retry after 15-30 s, then doubling ...
BACKOFF_MAX_S = 3600.0  # ... up to an hour: a blocked endpoint sees one try an hour per user
RETRY_AFTER_MAX_S = 24 * 3600.0  # a collector may ask for a long pause, not for forever
# Answers whose Retry-After sets the next attempt: rate limited, and unavailable (the
# collector's store cannot commit); without the header, or on any other 5xx, the backoff.
RETRY_AFTER_STATUSES = (429, 503)
MAX_ANSWER_BYTES = 64 * 1024  # a 202 body is small; never buffer a huge one
MAX_REASON_CHARS = 200  # a failure's reason, kept in the state file for `telemetry status`
# After emptying the spool a detached sender keeps the lock this long, looking for new events
# every LINGER_POLL_S: CLI runs meanwhile find a sender running and spawn none (a spawn costs
# the CLI up to milliseconds on a busy machine, and the new process tens of ms of CPU).
LINGER_S = 1.0
LINGER_POLL_S = 0.05

EXIT_EMPTY, EXIT_PENDING, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: not loopback


def endpoint_problem(url: str) -> str | None:
    """Why the sender refuses `url`, or None: https anywhere, plain http only to loopback.

    The CLI checked already (`consent.endpoint_problem`, parsed by hand to spare it an import);
    this check does not trust its arguments and reads the URL as urllib will connect to it.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError as error:
        return f"invalid endpoint URL: {error}"
    if not host:
        return "the endpoint URL has no host"
    if parts.scheme == "https":
        return None
    if parts.scheme != "http":
        return f"the endpoint must be an https:// URL, not {parts.scheme or 'schemeless'}"
    if _is_loopback(host):
        return None
    return "plain http:// is only allowed to a loopback address; use https://"


def may_use_proxy(url: str) -> bool:
    """False when `url` must be reached directly, whatever HTTP(S)_PROXY say.

    Plain http:// is allowed only because loopback traffic never leaves the machine: through a
    proxy on another address it would cross a network in clear text. And a loopback endpoint
    is this machine's own collector, which a proxy elsewhere cannot even reach.
    """
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "https" and not _is_loopback(parts.hostname or "")


def backoff_delay(failures: int) -> float:
    """Seconds to wait after `failures` consecutive failures: exponential, capped, jittered."""
    exponent = min(max(0, failures - 1), 16)  # 2**16 * base is already far past the cap
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * float(1 << exponent))
    # Half fixed, half random, so users whose CLIs failed together do not retry together.
    return delay / 2 + random.uniform(0, delay / 2)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from `now`, capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(int(value))
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The collector never redirects; following one could downgrade to plain http://."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def build_opener(endpoint: str) -> urllib.request.OpenerDirector:
    """urllib with verified TLS, no redirects, and the environment's proxies if allowed.

    Reads this process's environment, which the launcher built from the CLI's: urllib
    consults `os.environ` for NO_PROXY on every request anyway. See `may_use_proxy` for the
    endpoints that never go through a proxy.
    """
    cafile = os.environ.get("SSL_CERT_FILE") or None  # a private CA replaces the system's
    context = ssl.create_default_context(cafile=cafile)  # verifies certificate and host name
    # None: HTTPS_PROXY / NO_PROXY, upper or lower case; {}: no proxy at all.
    proxies: dict[str, str] | None = None if may_use_proxy(endpoint) else {}
    return urllib.request.build_opener(
        urllib.request.ProxyHandler(proxies),
        urllib.request.HTTPSHandler(context=context),
        _NoRedirect(),
    )


class Outcome:
    """What one POST achieved: `sent` (acknowledged), `refused` (never acceptable), or neither."""

    __slots__ = (
        "detail", "refused", "rejected", "rejected_indices", "retry_after", "sent", "too_large",
    )  # fmt: skip

    def __init__(
        self,
        detail: str,
        *,
        sent: bool = False,
        refused: bool = False,
        rejected: int = 0,
        rejected_indices: frozenset[int] = frozenset(),
        retry_after: float | None = None,
        too_large: bool = False,
    ) -> None:
        self.detail = detail  # one line for the foreground summary
        self.sent = sent
        self.refused = refused
        self.rejected = rejected  # events the collector rejected inside a 2xx answer
        self.rejected_indices = rejected_indices  # their places in the batch, when given
        self.retry_after = retry_after
        self.too_large = too_large


def post(
    opener: urllib.request.OpenerDirector, endpoint: str, key: str, records: list[Record]
) -> Outcome:
    """POST one batch; classify the answer. Never raises for network or HTTP trouble."""
    body = b"[" + b",".join(record.payload for record in records) + b"]"
    request = urllib.request.Request(
        endpoint,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "User-Agent": f"candor/{__version__}",
        },
    )
    try:
        with opener.open(request, timeout=REQUEST_TIMEOUT_S) as answer:
            status, text = answer.status, answer.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        error.close()
        code = error.code
        if code in RETRY_AFTER_STATUSES:
            after = retry_after_seconds(error.headers.get("Retry-After"), time.time())
            return Outcome(f"HTTP {code}", retry_after=after)
        if code == 413 and len(records) > 1:
            return Outcome("HTTP 413", too_large=True)
        if 400 <= code < 500 and code != 408:
            return Outcome(f"HTTP {code}", refused=True)
        return Outcome(f"HTTP {code}")  # 3xx refused by _NoRedirect, 408, 5xx: retry later
    except (OSError, http.client.HTTPException, ValueError) as error:
        # URLError (DNS, refused, TLS) and timeouts are OSErrors; a lost answer raises
        # RemoteDisconnected or BadStatusLine (HTTPException).
        return Outcome(failure_reason(error)[:MAX_REASON_CHARS])
    answer = _answer(text)
    if answer is None:
        # A 2xx that is not the collector's answer (a captive portal's page, a misconfigured
        # proxy) acknowledges nothing: keep the events.
        return Outcome(f"HTTP {status} without a collector answer")
    rejected, indices = answer
    return Outcome(f"HTTP {status}", sent=True, rejected=rejected, rejected_indices=indices)


def failure_reason(error: BaseException) -> str:
    """A short sentence for a failed connection: what `telemetry status` shows the user."""
    reason = getattr(error, "reason", None)  # URLError wraps the socket's error
    cause = reason if isinstance(reason, BaseException) else error
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, TimeoutError):  # socket.timeout is TimeoutError
        return "timed out waiting for the collector"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS error: certificate not trusted ({cause.verify_message})"
    if isinstance(cause, ssl.SSLError):
        return f"TLS error: {cause.reason or cause}"
    if isinstance(cause, socket.gaierror):
        return f"cannot resolve the collector's host name ({cause.strerror})"
    if isinstance(cause, http.client.HTTPException):
        return f"the connection broke before an answer ({type(cause).__name__})"
    if isinstance(cause, OSError) and cause.strerror:
        return f"network error: {cause.strerror}"
    return f"{type(cause).__name__}: {reason or cause}"


def _answer(text: bytes) -> tuple[int, frozenset[int]] | None:
    """The rejected count and indices of a collector's 2xx body; None if it is not one."""
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if not isinstance(answer, dict) or _count(answer.get("accepted")) is None:
        return None
    errors = answer.get("errors")
    errors = errors if isinstance(errors, list) else []
    indices = frozenset(
        error["index"]
        for error in errors
        if isinstance(error, dict) and _count(error.get("index")) is not None
    )
    rejected = _count(answer.get("rejected"))
    return (len(errors) if rejected is None else rejected), indices


def _count(value: object) -> int | None:
    """`value` if it is a count (a non-negative integer), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def choose_batch(tx: SpoolTransaction, max_events: int) -> tuple[str, list[Record]] | None:
    """The batch to post and its Idempotency-Key; the in-flight one first, if any is left.

    Records that can never be sent (not an event of the schema, or larger than a body) are
    removed here and counted as dropped.
    """
    inflight = tx.state["inflight"]
    if isinstance(inflight, dict) and isinstance(inflight.get("key"), str):
        ids = set(str(inflight.get("ids") or "").split(","))
        # Same key even if some were trimmed since: should the collector have stored the
        # first attempt, it answers from that, and the survivors are removed, not re-counted.
        again = [record for record in tx.records if record.rid in ids]
        if again:
            return inflight["key"], again
    batch: list[Record] = []
    unsendable: list[Record] = []
    size = 2  # the brackets of the JSON array
    for record in tx.records:
        if len(batch) >= max_events:
            break
        if _unsendable(record):
            unsendable.append(record)
            continue
        if size + len(record.payload) + 1 > MAX_BODY_BYTES:
            break
        batch.append(record)
        size += len(record.payload) + 1
    if unsendable or tx.damaged:
        drop = {record.rid for record in unsendable}
        tx.records = [record for record in tx.records if record.rid not in drop]
        tx.state["dropped"] = as_int(tx.state["dropped"]) + len(unsendable) + tx.damaged
        tx.save_records()
        tx.save_state()
    if not batch:
        return None
    return os.urandom(16).hex(), batch


def _unsendable(record: Record) -> bool:
    if len(record.payload) + 2 > MAX_BODY_BYTES:
        return True
    try:
        return bool(validate_event(json.loads(record.payload)))
    except ValueError:
        return True


def settle(
    tx: SpoolTransaction, batch: list[Record], outcome: Outcome, previous_failures: int
) -> None:
    """Apply one POST's outcome to the spool and the state (the lock is held)."""
    state = tx.state
    now = time.time()
    if outcome.sent or outcome.refused:
        done = {record.rid for record in batch}
        if outcome.sent:
            # Only what is still queued: a batch purged meanwhile by `telemetry disable`
            # leaves no trace. Written before the records leave the spool (see history.py).
            queued = {record.rid for record in tx.records}
            stored = [
                record
                for index, record in enumerate(batch)
                if index not in outcome.rejected_indices and record.rid in queued
            ]
            if stored:
                add_sent(tx.spool, stored, now)
        tx.records = [record for record in tx.records if record.rid not in done]
        tx.save_records()
        lost = outcome.rejected if outcome.sent else len(batch)
        state["rejected"] = as_int(state["rejected"]) + lost
        if outcome.sent:
            state.update(last_success_at=now, last_failure=None, last_failure_at=None)
        state.update(failures=0, next_attempt_at=None, inflight=None)
    elif outcome.too_large:
        # Not the endpoint failing: undo the pessimistic backoff; the halves get new keys.
        state.update(failures=previous_failures, next_attempt_at=None, inflight=None)
    else:
        # The in-flight key stays: the retry of this batch must carry it.
        failures = as_int(state["failures"])
        wait = outcome.retry_after if outcome.retry_after is not None else backoff_delay(failures)
        state.update(next_attempt_at=now + wait, last_failure=outcome.detail, last_failure_at=now)
    tx.save_state()


def deliver(
    spool: Spool, endpoint: str, opener: urllib.request.OpenerDirector, stop_at: float
) -> tuple[int, list[str]]:
    """Post batches until the spool is empty, an attempt fails or `stop_at` (monotonic) passes.

    Returns the exit status and one line per attempt.
    """
    max_events = MAX_BATCH_EVENTS
    lines: list[str] = []
    first = True
    while time.monotonic() < stop_at:
        with spool.locked() as tx:
            if first:
                _remove_stale_temporaries(spool)
                first = False
            if backoff_pending(tx.state, time.time()):
                lines.append("backing off after a failed attempt; nothing sent")
                return EXIT_PENDING, lines
            chosen = choose_batch(tx, max_events)
            if chosen is None:
                return EXIT_EMPTY, lines
            key, batch = chosen
            previous = as_int(tx.state["failures"])
            # Persisted before posting: a kill from here on counts as a failed attempt, and
            # the next run retries this batch with this key.
            tx.state.update(
                failures=previous + 1,
                next_attempt_at=time.time() + backoff_delay(previous + 1),
                inflight={"key": key, "ids": ",".join(record.rid for record in batch)},
            )
            tx.save_state()
        outcome = post(opener, endpoint, key, batch)
        with spool.locked() as tx:
            settle(tx, batch, outcome, previous)
        lines.append(f"{len(batch)} events: {outcome.detail}")
        if outcome.too_large:
            max_events = max(1, len(batch) // 2)
        elif not (outcome.sent or outcome.refused):
            return EXIT_PENDING, lines
    return EXIT_PENDING, lines


def _remove_stale_temporaries(spool: Spool) -> None:
    """Delete temporary files of rewrites a kill interrupted (only ever written under the lock)."""
    prefixes = (os.path.basename(spool.path) + ".", os.path.basename(spool.state_path) + ".")
    for name in os.listdir(spool.directory):
        if name.startswith(prefixes) and name.endswith(".tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(spool.directory, name))


def _hold_sender_lock(spool: Spool, inherited: int | None) -> int | None:
    """The descriptor holding the sender lock, or None when another sender holds it."""
    fd = -1
    if inherited is not None:
        try:
            # Trust the descriptor only if it really is the sender lock file.
            mine, lock = os.fstat(inherited), os.lstat(spool.sender_lock_path)
            if (mine.st_dev, mine.st_ino) == (lock.st_dev, lock.st_ino):
                fd = inherited
        except OSError:
            pass
    if fd < 0:
        fd = open_regular(spool.sender_lock_path, os.O_RDWR | os.O_CREAT)
    try:
        # On the inherited description this succeeds at once: the lock is already ours.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def run(
    spool: Spool,
    endpoint: str,
    lock_fd: int,
    deadline_s: float,
    linger_s: float,
    successor_environ: dict[str, str] | None = None,
) -> tuple[int, list[str]]:
    """Deliver while holding the lock, linger, then release it and look once more.

    A CLI that appended just as this run found the spool empty saw the lock busy and did not
    start a sender; the last look catches its event (or that CLI, now free to, starts one).
    Likewise a run that reaches half its deadline with events left (CLIs kept appending while
    it sent) leaves them to a successor, when `successor_environ` is given (a sender started
    by a CLI): else they would wait for the next CLI run, which may be days away.
    """
    opener = build_opener(endpoint)
    # No new batch after half the deadline, so a started one has time to finish before the
    # hard deadline (SIGALRM) ends the process.
    stop_at = time.monotonic() + deadline_s / 2
    lines: list[str] = []
    while True:
        status, more = deliver(spool, endpoint, opener, stop_at)
        lines += more
        if status == EXIT_EMPTY and _linger(spool, min(time.monotonic() + linger_s, stop_at)):
            continue
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        if status != EXIT_EMPTY or not _has_records(spool):
            if status == EXIT_PENDING and successor_environ is not None:
                # The launcher's own checks: a failed attempt left a backoff, and then it
                # starts nothing; a time-out did not.
                from candor.client.launcher import start_sender_if_needed

                start_sender_if_needed(spool.directory, endpoint, successor_environ)
            return status, lines
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return EXIT_EMPTY, lines  # a newer sender has it


def _linger(spool: Spool, until: float) -> bool:
    """Wait (lock held) until events arrive, True, or `until` (monotonic) passes, False."""
    while time.monotonic() < until:
        if _has_records(spool):
            return True
        time.sleep(LINGER_POLL_S)
    return _has_records(spool)


def _has_records(spool: Spool) -> bool:
    """True when the log holds anything (one stat, as the launcher does)."""
    try:
        return os.stat(spool.path).st_size > 0
    except FileNotFoundError:
        return False


def _refuse_endpoint(spool: Spool, problem: str) -> None:
    """Persist the longest backoff so CLIs do not start a sender per run for a bad endpoint."""
    if not _has_records(spool):
        return
    with spool.locked() as tx:
        now = time.time()
        tx.state["failures"] = as_int(tx.state["failures"]) + 1
        tx.state.update(next_attempt_at=now + BACKOFF_MAX_S, last_failure=problem)
        tx.state["last_failure_at"] = now
        tx.save_state()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m candor.client.sender`."""
    parser = argparse.ArgumentParser(
        prog="python -m candor.client.sender",
        description="Deliver the telemetry spool of DIRECTORY to ENDPOINT, then exit.",
    )
    parser.add_argument("--directory", required=True, help="the config directory, e.g. ~/.x")
    parser.add_argument("--endpoint", required=True, help="the collector's /v1/event URL")
    parser.add_argument("--lock-fd", type=int, help="inherited sender-lock descriptor (launcher)")
    parser.add_argument(
        "--deadline", type=float, default=RUN_DEADLINE_S, help="hard limit of the run, seconds"
    )
    parser.add_argument(
        "--linger",
        type=float,
        help=f"seconds to wait for more events once done (default {LINGER_S:g} when started "
        "by a CLI, 0 in the foreground)",
    )
    args = parser.parse_args(argv)
    detached = args.lock_fd is not None
    linger_s = args.linger if args.linger is not None else (LINGER_S if detached else 0.0)
    if detached:
        os.chdir("/")  # do not keep the user's working directory busy
    # Default action: the kernel ends the process, wherever it is blocked.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, max(args.deadline, 0.001))
    spool = Spool(os.path.abspath(args.directory))
    problem = endpoint_problem(args.endpoint)
    if problem:
        _refuse_endpoint(spool, problem)
        print(f"candor sender: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if not os.path.isdir(spool.directory):
        return EXIT_EMPTY
    lock_fd = _hold_sender_lock(spool, args.lock_fd)
    if lock_fd is None:
        print("candor sender: another sender is running", file=sys.stderr)
        return EXIT_BUSY
    successor = dict(os.environ) if detached else None
    status, lines = run(spool, args.endpoint, lock_fd, args.deadline, linger_s, successor)
    stats = spool.stats()
    for line in lines:
        print(f"candor sender: {line}", file=sys.stderr)
    print(
        f"candor sender: {stats['queued']} queued, {stats['rejected']} rejected, "
        f"{stats['dropped']} dropped, next attempt {stats['next_attempt_at'] or 'any time'}",
        file=sys.stderr,
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
