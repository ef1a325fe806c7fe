"""The query parameters of `/v1/stats/*`: what each means, its JSON Schema, and the check of it.

One table serves both sides: `check` refuses exactly the values a parameter's schema refuses,
and the OpenAPI document publishes the same schemas, so a client generated from the document
sends only values the collector takes (and the fuzz tests hold both to it). What a schema for
one parameter cannot say (since or from/to, not both; from before to; at most MAX_RANGE_DAYS
days) is in the descriptions, and `candor.analytics.filters.parse_range` enforces it.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from candor.analytics import queries
from candor.analytics.filters import MAX_RANGE_DAYS, QueryError
from candor.schema import FIELDS_BY_NAME

# 1 to 3660 days, or 1 to 522 weeks (522 × 7 = 3654 days), as the parser counts them; no
# leading zero, no space, lower case. Spelled with [0-9]: in Python, \d matches other digits.
_DAYS = r"[1-9][0-9]{0,2}|[12][0-9]{3}|3[0-5][0-9]{2}|36[0-5][0-9]|3660"
_WEEKS = r"[1-9][0-9]?|[1-4][0-9]{2}|5[01][0-9]|52[0-2]"
SINCE_PATTERN = rf"^(?:(?:{_DAYS})d|(?:{_WEEKS})w)$"
# Years 1970 to 9998 (filters.EARLIEST_DAY to LATEST_DAY); the date itself is `format: date`.
_YEAR = r"19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8]"
DAY_PATTERN = rf"^(?:{_YEAR})-[0-9]{{2}}-[0-9]{{2}}$"
INTERACTIVE_VALUES = ("true", "false", "1", "0", "yes", "no", "interactive", "ci", "script", "any")
_SECTION = "|".join(queries.SECTIONS)
SECTIONS_PATTERN = rf"^(?:{_SECTION})(?:,(?:{_SECTION}))*$"
# `sections` may name every section, some more than once (answered once): room for that.
MAX_SECTIONS_LENGTH = 256


class Parameter(NamedTuple):
    """One query parameter: its help text, its JSON Schema and the rule in words for a 400."""

    description: str
    schema: dict[str, Any]
    rule: str


def _field(name: str, what: str) -> Parameter:
    """A filter on the event field `name`: its value follows that field's own rule."""
    field = FIELDS_BY_NAME[name]
    schema = {"type": "string", "pattern": field.pattern, "maxLength": field.max_length}
    return Parameter(f"only events of this {what}", schema, field.rule)


_RANGE_RULES = (
    f"Give either since or from/to, not both; from is not after to; a range spans at most "
    f"{MAX_RANGE_DAYS} days."
)
PARAMETERS = {
    "since": Parameter(
        f"the last N days (7d) or weeks (4w), today (UTC) included; default 30d. {_RANGE_RULES}",
        {"type": "string", "pattern": SINCE_PATTERN},
        f"like 7d or 4w, at most {MAX_RANGE_DAYS} days",
    ),
    "from": Parameter(
        f"the first UTC day (YYYY-MM-DD) of an explicit range; to defaults to today. "
        f"{_RANGE_RULES}",
        {"type": "string", "format": "date", "pattern": DAY_PATTERN},
        "a date like 2025-01-31, from 1970-01-01 to 9998-12-31",
    ),
    "to": Parameter(
        f"the last UTC day (YYYY-MM-DD) of an explicit range; from defaults to 29 days "
        f"before. {_RANGE_RULES}",
        {"type": "string", "format": "date", "pattern": DAY_PATTERN},
        "a date like 2025-01-31, from 1970-01-01 to 9998-12-31",
    ),
    "cli_version": _field("cli_version", "cli_version"),
    "os_arch": _field("os_arch", "os_arch"),
    "command": _field("command", "command"),
    "interactive": Parameter(
        "true (or 1, yes, interactive): interactive runs only; false (or 0, no, ci, script): "
        "scripts and CI only; any: both",
        {"type": "string", "enum": list(INTERACTIVE_VALUES)},
        f"one of {', '.join(INTERACTIVE_VALUES)}",
    ),
}
SECTIONS = Parameter(
    f"a comma-separated list of {', '.join(queries.SECTIONS)} (default: all)",
    {"type": "string", "pattern": SECTIONS_PATTERN, "maxLength": MAX_SECTIONS_LENGTH},
    f"a comma-separated list of {', '.join(queries.SECTIONS)}",
)
RANGE_PARAMETERS = ("since", "from", "to")
FILTER_PARAMETERS = ("cli_version", "os_arch", "command", "interactive")
_PATTERNS = {
    name: re.compile(parameter.schema["pattern"])
    for name, parameter in (*PARAMETERS.items(), ("sections", SECTIONS))
    if "pattern" in parameter.schema
}


def check(name: str, value: str) -> None:
    """QueryError unless `value` is valid for parameter `name` (a key of PARAMETERS or sections).

    Dates are checked as dates later, by the range parser (the schema's `format: date`).
    """
    parameter = SECTIONS if name == "sections" else PARAMETERS[name]
    schema = parameter.schema
    longest = schema.get("maxLength", MAX_SECTIONS_LENGTH)
    if len(value) > longest:
        raise QueryError(f"parameter {name!r} is too long (at most {longest} characters)")
    pattern = _PATTERNS.get(name)
    if ("enum" in schema and value not in schema["enum"]) or (
        pattern is not None and pattern.fullmatch(value) is None
    ):
        raise QueryError(f"{name} must be {parameter.rule}, not {value!r}")
