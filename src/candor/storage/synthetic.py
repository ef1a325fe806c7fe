"""Realistic synthetic events, for demos and benchmarks (`candor generate`): the model.

Every backend draws the same kind of data from the constants below, each random choice a
hash of (seed, event or installation number, purpose), so a seed gives the same events again
on the same backend and the engine can spread the work over every core (10 million events in
seconds, not minutes of Python).

What it models, so the dashboard has something to show:

- installations that appear over the window (about a third exist at its start) with a
  power-law activity: a few very busy installations, many occasional ones;
- Zipf-like command popularity (`build` far ahead, a long tail);
- releases spaced over the window, adopted with a per-installation lag; `SLOW_VERSION` makes the
  heavy commands markedly slower (the regression the performance view should flag);
- CI installations (never interactive, mostly linux-x86_64) next to people's laptops;
- per-command error codes, a time-boxed burst of `registry_timeout` on `deploy`, and one
  installation failing `login` with `auth_expired` over and over (one user, many errors).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_DAYS = 90
EVENTS_PER_INSTALLATION = 50  # the average; activity is power-law distributed around it
# Each installation's share of the events is log-normal: most run a handful of commands, a few
# (CI farms, power users) thousands. Events pick an installation by its weight (an ASOF join).
ACTIVITY_SIGMA = 1.5
CHURN_SHARE = 0.4  # installations that stop being used before the end of the window
MIN_INSTALLATIONS = 20
MAX_EVENTS = 1_000_000_000  # a guard against a typo filling the disk

# command → (popularity weight, median duration ms, log-normal sigma, failure rate)
COMMANDS: dict[str, tuple[float, int, float, float]] = {
    "build": (1.0, 2400, 0.55, 0.06),
    "deploy": (0.45, 7800, 0.5, 0.05),
    "test": (0.3, 5200, 0.6, 0.08),
    "status": (0.2, 140, 0.4, 0.01),
    "logs": (0.13, 450, 0.7, 0.02),
    "init": (0.09, 320, 0.4, 0.03),
    "login": (0.07, 900, 0.5, 0.04),
    "config set": (0.05, 60, 0.3, 0.02),
    "config get": (0.04, 45, 0.3, 0.01),
    "env list": (0.03, 380, 0.5, 0.02),
    "rollback": (0.02, 6100, 0.5, 0.07),
    "db migrate": (0.015, 12500, 0.8, 0.09),
    "plugins install": (0.01, 3300, 0.6, 0.05),
    "upgrade": (0.008, 2100, 0.4, 0.03),
}
# command → its error codes with relative weights, when it fails on its own
ERROR_CODES: dict[str, tuple[tuple[str, int], ...]] = {
    "build": (("compile_error", 6), ("invalid_manifest", 3), ("out_of_disk", 1)),
    "deploy": (("registry_timeout", 4), ("permission_denied", 3), ("invalid_manifest", 2)),
    "test": (("tests_failed", 9), ("timeout", 1)),
    "status": (("not_logged_in", 1),),
    "logs": (("not_found", 1),),
    "init": (("directory_not_empty", 1),),
    "login": (("auth_expired", 2), ("network_unreachable", 1)),
    "config set": (("invalid_key", 1),),
    "config get": (("invalid_key", 1),),
    "env list": (("not_logged_in", 1),),
    "rollback": (("no_previous_release", 2), ("permission_denied", 1)),
    "db migrate": (("migration_conflict", 3), ("timeout", 1)),
    "plugins install": (("network_unreachable", 1),),
    "upgrade": (("network_unreachable", 1),),
}

# Releases and where in the window they ship (0 = its start, 1 = its end).
VERSIONS: tuple[tuple[str, float], ...] = (
    ("0.1.0", 0.0), ("0.2.0", 0.15), ("0.2.1", 0.3), ("0.3.0", 0.5), ("0.3.1", 0.7),
    ("0.4.0", 0.85),
)  # fmt: skip
SLOW_VERSION = "0.3.0"
SLOW_FACTOR = 1.8  # how much slower SLOW_VERSION makes SLOW_COMMANDS
SLOW_COMMANDS = ("build", "deploy", "test")

# (os_arch, share of interactive installations, share of CI installations)
PLATFORMS: tuple[tuple[str, float, float], ...] = (
    ("linux-x86_64", 0.30, 0.80), ("macos-aarch64", 0.34, 0.03), ("macos-x86_64", 0.08, 0.0),
    ("windows-x86_64", 0.18, 0.07), ("linux-aarch64", 0.08, 0.10),
    ("freebsd-x86_64", 0.02, 0.0),
)  # fmt: skip
CI_SHARE = 0.3  # of installations
SCRIPTING_SHARE = 0.25  # of the interactive installations, some runs come from a script…
SCRIPTED_SHARE = 0.3  # …this share of their runs
USAGE_ERROR_RATE = 0.01  # any command, on top of its own failures
INTERRUPTED_RATE = 0.004  # interactive runs only
BURST = ("deploy", "registry_timeout", 0.40, 0.43, 0.35)  # command, code, from, to, failure rate
LOOP_RATE = 0.002  # share of all events that are the one installation failing login in a loop
LOOP_CODE = "keychain_locked"


MAX_SEED = 2**23 - 1  # what every backend's hashing can mix in


@dataclass(frozen=True, slots=True)
class SyntheticEvents:
    """`events` synthetic events spread over the `days` before `end` (naive UTC), from `seed`."""

    events: int
    days: int = DEFAULT_DAYS
    seed: int = 1
    end: dt.datetime | None = None  # None: now

    def __post_init__(self) -> None:
        if not 0 < self.events <= MAX_EVENTS:
            raise ValueError(f"events must be between 1 and {MAX_EVENTS:,}")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}")

    @property
    def installations(self) -> int:
        return max(MIN_INSTALLATIONS, self.events // EVENTS_PER_INSTALLATION)

    def end_time(self) -> dt.datetime:
        """`end`, or now (naive UTC)."""
        return self.end or dt.datetime.now(dt.UTC).replace(tzinfo=None)
