"""The collector's settings, read once from flags and the environment, then passed down.

Precedence: a command-line flag, then a `CANDOR_*` variable, then the default. Tests build
`Settings.from_environ({...})` from a plain dict; nothing reads `os.environ` after start.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.config import Config

from candor.analytics.durations import DurationError, parse_retention

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import timedelta

DEFAULT_HOST = "127.0.0.1"  # loopback: exposing the collector is a deliberate choice
DEFAULT_PORT = 8787
DEFAULT_STORE = "events.duckdb"  # in the working directory
# Per client address. Generous on purpose: a CI farm or an office behind one NAT address
# posts for many users, and a load test from one machine must not be throttled; this guards
# against a runaway client, not against a determined attacker.
DEFAULT_RATE_LIMIT = 20_000.0  # requests per second, sustained
DEFAULT_RATE_BURST = 40_000
# Extra wait before committing the first request after a quiet spell. None by default:
# requests that arrive while a commit runs (a few ms) join the next one anyway, and any wait
# here adds to every request's latency (measured: -20 % requests/s with 2 ms).
DEFAULT_COMMIT_WINDOW_MS = 0.0
MAX_COMMIT_WINDOW_MS = 1_000.0
# What the embedded store's queries may use (DuckDB's memory_limit; "none": DuckDB's own
# default, 80 % of RAM); it keeps half of it while only committing (storage/memory_budget.py).
# The dashboard's queries over 10 M events fit: they fail below ~90 MB. Raise it for larger
# stores; the analytics answer faster with more room.
DEFAULT_MEMORY_LIMIT = "96MB"
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*([KMGT]i?B|B)$", re.IGNORECASE)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")  # no "trace": it logs addresses
ADMIN_TOKEN_BYTES = 24

_OFF = ("", "0", "off", "none", "never")


class SettingsError(ValueError):
    """A flag or variable has a value the collector cannot use; the message says which."""


def new_admin_token() -> str:
    """A random admin token that never starts with '-' (a command line would read it as a flag)."""
    while True:
        token = secrets.token_urlsafe(ADMIN_TOKEN_BYTES)
        if not token.startswith("-"):
            return token


@dataclass(frozen=True)
class Settings:
    """Everything `candor serve` needs to know, validated."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    store: str = DEFAULT_STORE  # a path or a store URL (candor.storage.open_store)
    tls_cert: str | None = None
    tls_key: str | None = None
    rate_limit: float = DEFAULT_RATE_LIMIT  # requests/s per address; 0 turns it off
    rate_burst: int = DEFAULT_RATE_BURST
    admin_token: str = field(default_factory=new_admin_token)
    admin_token_generated: bool = True  # True: print it once at start, nobody else knows it
    metrics_token: str | None = None  # also opens /metrics (for a scraper), and nothing else
    retention: timedelta | None = None  # prune raw events older than this, at start and daily
    commit_window_s: float = DEFAULT_COMMIT_WINDOW_MS / 1000
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT  # for the store; None: the engine's default
    log_level: str = "info"

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def base_url(self) -> str:
        """Where the collector answers, e.g. http://127.0.0.1:8787."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], **flags: str | int | float | None
    ) -> Settings:
        """Settings from `environ` (CANDOR_* variables), overridden by non-None `flags`.

        Flag names are the field names (host, port, store, tls_cert, tls_key, rate_limit,
        rate_burst, retention, commit_window_ms, memory_limit, log_level, metrics_token).
        Raises SettingsError.
        """
        unknown = set(flags) - {*cls.__dataclass_fields__, "commit_window_ms"}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        config = Config(environ=dict(environ))

        def pick(name: str, default: str | None) -> str | None:
            flag = flags.get(name)
            if flag is not None:
                return str(flag)
            return config(f"CANDOR_{name.upper()}", default=default)

        try:
            port = int(pick("port", str(DEFAULT_PORT)) or "")
            rate_limit = float(pick("rate_limit", str(DEFAULT_RATE_LIMIT)) or "")
            rate_burst = int(pick("rate_burst", str(DEFAULT_RATE_BURST)) or "")
            window_ms = float(pick("commit_window_ms", str(DEFAULT_COMMIT_WINDOW_MS)) or "")
        except ValueError as error:
            raise SettingsError(f"not a number: {error}") from None
        if not 0 < port < 65536:
            raise SettingsError(f"port {port} is not between 1 and 65535")
        if rate_limit < 0 or rate_burst < 1:
            raise SettingsError("the rate limit must be >= 0 (0: off) and the burst >= 1")
        if not 0 <= window_ms <= MAX_COMMIT_WINDOW_MS:
            raise SettingsError(f"the commit window must be 0 to {MAX_COMMIT_WINDOW_MS:g} ms")
        tls_cert, tls_key = pick("tls_cert", None) or None, pick("tls_key", None) or None
        if (tls_cert is None) != (tls_key is None):
            raise SettingsError("--tls-cert and --tls-key go together")
        memory_limit = (pick("memory_limit", DEFAULT_MEMORY_LIMIT) or "").strip()
        if memory_limit.lower() in _OFF:
            memory_limit = ""
        elif _MEMORY.match(memory_limit) is None:
            raise SettingsError(f"memory limit {memory_limit!r}: use a size like 96MB or 1GB")
        log_level = (pick("log_level", "info") or "info").lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"log level {log_level!r}: one of {', '.join(LOG_LEVELS)}")
        token = config("CANDOR_ADMIN_TOKEN", default="")
        metrics_token = (pick("metrics_token", "") or "").strip()
        try:
            retention = parse_retention(pick("retention", "") or "")
        except DurationError as error:
            raise SettingsError(str(error)) from None
        return cls(
            host=pick("host", DEFAULT_HOST) or DEFAULT_HOST,
            port=port,
            store=pick("store", DEFAULT_STORE) or DEFAULT_STORE,
            tls_cert=tls_cert,
            tls_key=tls_key,
            rate_limit=rate_limit,
            rate_burst=rate_burst,
            admin_token=token or new_admin_token(),
            admin_token_generated=not token,
            metrics_token=metrics_token or None,
            retention=retention,
            commit_window_s=window_ms / 1000,
            memory_limit=memory_limit or None,
            log_level=log_level,
        )
