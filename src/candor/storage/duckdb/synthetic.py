"""`candor.storage.synthetic`'s model as one DuckDB `INSERT … SELECT` over `range(N)`.

Every random choice is DuckDB's hash of (seed, event or installation number, purpose), so the
same seed gives the same events and DuckDB spreads the work over every core.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from candor.schema import EVENT_VERSION, MAX_DURATION_MS
from candor.storage.synthetic import (
    ACTIVITY_SIGMA,
    BURST,
    CHURN_SHARE,
    CI_SHARE,
    COMMANDS,
    ERROR_CODES,
    INTERRUPTED_RATE,
    LOOP_CODE,
    LOOP_RATE,
    PLATFORMS,
    SCRIPTED_SHARE,
    SCRIPTING_SHARE,
    SLOW_COMMANDS,
    SLOW_FACTOR,
    SLOW_VERSION,
    USAGE_ERROR_RATE,
    VERSIONS,
)

if TYPE_CHECKING:
    from candor.storage.synthetic import SyntheticEvents

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


def insert_sql(spec: SyntheticEvents) -> str:
    """The one INSERT statement that adds the events `spec` describes."""
    events, days, seed, end = spec.events, spec.days, spec.seed, spec.end_time()
    installations = spec.installations
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
