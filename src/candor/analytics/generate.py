"""Realistic synthetic events, for demos and benchmarks (`candor generate`).

The whole data set is one `INSERT … SELECT` over `range(N)`: every random choice is a hash of
(seed, event or installation number, purpose), so the same seed gives the same events and DuckDB
can spread the work over every core (10 million events in seconds, not minutes of Python).

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
from typing import TYPE_CHECKING

from candor.schema import EVENT_VERSION, MAX_DURATION_MS

if TYPE_CHECKING:
    from collections.abc import Callable

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


# Each random choice has its own salt, packed with the row number and the seed into one BIGINT:
# DuckDB's hash() of a single integer is well mixed, whereas hash(a, b, c) of several values
# gives strongly correlated results for neighbouring rows (measured: r = 0.99).
SALTS = (
    "ci", "variant", "ci_os", "os", "first", "lag", "who", "loop", "scripted", "when", "cmd",
    "w1", "w2", "scripting",
    "z1", "z2", "usage", "intr", "burst", "fail", "code", "churn", "last",
)  # fmt: skip
SALT_BITS = 8  # room for 256 salts
SEED_SHIFT = 40  # row numbers stay below 2**32 (MAX_EVENTS), times 2**SALT_BITS
MAX_SEED = 2**23 - 1  # so that seed << SEED_SHIFT fits a BIGINT


def _u(salt: str, key: str, seed: int) -> str:
    """SQL for a uniform double in [0, 1) drawn from the hash of (seed, key, salt)."""
    mixed = f"{key} * {2**SALT_BITS} + {SALTS.index(salt) + (seed << SEED_SHIFT)}"
    return f"((hash({mixed}) >> 11)::DOUBLE / 9007199254740992.0)"


def _pick(uniform: str, choices: list[tuple[str, float]]) -> str:
    """SQL choosing one of `choices` (value SQL, weight) with `uniform` in [0, 1)."""
    total = sum(weight for _, weight in choices if weight > 0)
    whens, edge = [], 0.0
    for value, weight in choices[:-1]:
        if weight <= 0:
            continue
        edge += weight / total
        whens.append(f"WHEN {uniform} < {edge!r} THEN {value}")
    return f"CASE {' '.join(whens)} ELSE {choices[-1][0]} END" if whens else choices[-1][0]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def generate_sql(events: int, *, days: int, seed: int, end: dt.datetime) -> str:
    """The one INSERT statement that adds `events` synthetic events ending at `end` (UTC)."""
    installations = max(MIN_INSTALLATIONS, events // EVENTS_PER_INSTALLATION)
    span_us = days * 86_400_000_000
    start = (end - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f")

    def ue(salt: str) -> str:
        return _u(salt, "e", seed)

    def ui(salt: str) -> str:
        return _u(salt, "i", seed)

    platform_sql = (
        f"CASE WHEN is_ci THEN {_pick(ui('ci_os'), [(_quote(p), c) for p, _, c in PLATFORMS])} "
        f"ELSE {_pick(ui('os'), [(_quote(p), s) for p, s, _ in PLATFORMS])} END"
    )
    command_sql = _pick(ue("cmd"), [(_quote(name), c[0]) for name, c in COMMANDS.items()])
    median_sql = "CASE command " + " ".join(
        f"WHEN {_quote(name)} THEN {c[1]}.0 * exp({c[2]} * z)" for name, c in COMMANDS.items()
    ) + " END"  # fmt: skip
    rate_sql = "CASE command " + " ".join(
        f"WHEN {_quote(name)} THEN {c[3]}" for name, c in COMMANDS.items()
    )
    code_sql = "CASE command " + " ".join(
        f"WHEN {_quote(name)} THEN {_pick(ue('code'), [(_quote(k), w) for k, w in codes])}"
        for name, codes in ERROR_CODES.items()
    ) + " END"  # fmt: skip
    version_sql = "CASE " + " ".join(
        f"WHEN adopted >= {at!r} THEN {_quote(v)}" for v, at in reversed(VERSIONS[1:])
    ) + f" ELSE {_quote(VERSIONS[0][0])} END"  # fmt: skip
    slow = ", ".join(_quote(c) for c in SLOW_COMMANDS)
    b_cmd, b_code, b_from, b_to, b_rate = BURST
    uuid_sql = (
        "(substr(h, 1, 12) || '4' || substr(h, 14, 3) || "
        f"substr('89ab', 1 + floor({ui('variant')} * 4)::INTEGER, 1) || substr(h, 18, 15))::UUID"
    )
    return f"""
INSERT INTO events
WITH inst AS (
    SELECT i, {uuid_sql} AS installation_id, is_ci, {platform_sql} AS os_arch,
        greatest(0.0, ({ui("first")} - 0.35) / 0.65) AS first_seen,
        CASE WHEN {ui("churn")} < {CHURN_SHARE} THEN {ui("last")} ELSE 1.0 END AS lifetime,
        CASE WHEN is_ci THEN {ui("lag")} * 3 ELSE -ln(1 - {ui("lag")}) * 8 END / {days} AS lag,
        exp({ACTIVITY_SIGMA} * sqrt(-2 * ln(1 - {ui("w1")})) * cos(2 * pi() * {ui("w2")})) AS w,
        {ui("scripting")} < {SCRIPTING_SHARE} AS scripting
    FROM (
        SELECT range AS i, md5('{seed}-' || range) AS h, {_u("ci", "range", seed)} < {CI_SHARE}
            AS is_ci
        FROM range({installations})
    )
), weighted AS (
    SELECT *, (sum(w) OVER (ORDER BY i) - w) / sum(w) OVER () AS lo FROM inst
), picked AS (
    SELECT e, looping, CASE WHEN looping THEN 0.0 ELSE {ue("who")} END AS pick
    FROM (SELECT e, {ue("loop")} < {LOOP_RATE} AS looping FROM range({events}) AS r(e))
), drawn AS (
    SELECT p.e, p.looping, inst.installation_id, inst.os_arch,
        NOT inst.is_ci AND NOT (inst.scripting AND {ue("scripted")} < {SCRIPTED_SHARE})
            AS is_interactive,
        inst.first_seen + (1 - inst.first_seen) * inst.lifetime * {ue("when")} AS at_frac,
        CASE WHEN p.looping THEN 'login' ELSE {command_sql} END AS command,
        sqrt(-2 * ln(1 - {ue("z1")})) * cos(2 * pi() * {ue("z2")}) AS z,
        inst.lag
    FROM picked AS p ASOF JOIN weighted AS inst ON p.pick >= inst.lo
), versioned AS (
    SELECT *, {version_sql} AS cli_version FROM (SELECT *, at_frac - lag AS adopted FROM drawn)
), failed AS (
    SELECT *,
        CASE
            WHEN looping THEN {_quote(LOOP_CODE)}
            WHEN {ue("usage")} < {USAGE_ERROR_RATE} THEN 'usage_error'
            WHEN is_interactive AND {ue("intr")} < {INTERRUPTED_RATE} THEN 'interrupted'
            WHEN command = {_quote(b_cmd)} AND at_frac BETWEEN {b_from} AND {b_to}
                AND {ue("burst")} < {b_rate} THEN {_quote(b_code)}
            WHEN {ue("fail")} < {rate_sql} END THEN {code_sql}
        END AS error_code,
        ({median_sql}) * CASE WHEN cli_version = {_quote(SLOW_VERSION)} AND command IN ({slow})
            THEN {SLOW_FACTOR} ELSE 1.0 END AS duration
    FROM versioned
)
SELECT '{EVENT_VERSION}', installation_id, cli_version, command, os_arch,
    least({MAX_DURATION_MS}, greatest(1, round(duration)))::BIGINT,
    CASE WHEN error_code IS NULL THEN 'success' ELSE 'failure' END, error_code, is_interactive,
    TIMESTAMP '{start}' + to_microseconds(floor(at_frac * {span_us})::BIGINT)
FROM failed
ORDER BY 10
"""


def generate_events(
    execute: Callable[[str], object],
    events: int,
    *,
    days: int = DEFAULT_DAYS,
    seed: int = 1,
    end: dt.datetime | None = None,
) -> None:
    """Insert `events` synthetic events spread over the `days` before `end` (default: now, UTC).

    `execute` runs one SQL statement in its own transaction (`Store.execute`); rollups are the
    caller's to rebuild afterwards, once, which is far faster than folding in 10 M rows.
    """
    if not 0 < events <= MAX_EVENTS:
        raise ValueError(f"events must be between 1 and {MAX_EVENTS:,}")
    if days < 1:
        raise ValueError("days must be at least 1")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}")
    if end is None:
        end = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    execute(generate_sql(events, days=days, seed=seed, end=end))
