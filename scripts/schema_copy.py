"""The schema's rules as candor.client.recording holds them, written by cog from candor.schema.

A recording run checks every event against the schema, and importing candor.schema (its Field
class, nine instances, the patterns, the JSON Schema builder) cost each run more than the check
itself. So the client carries a generated copy of what the check needs: the constants, the
schema's own plain-string checks (their source, verbatim) and one row of rules per field.
`make lint` runs `cog --check`, so the copy cannot drift from the schema, which stays the one
source of truth; tests/client/test_event.py proves the copy and `validate_event` agree.
"""

from __future__ import annotations

import inspect
import json

from candor import schema

# The schema's constants the copy uses, in the order they are written out.
CONSTANTS = (
    "EVENT_VERSION", "MAX_DURATION_MS", "OS_NAMES", "ARCH_NAMES", "CI_VARIABLES", "FIELD_NAMES",
    "_HEX", "_LOWER", "_ALNUM", "_VERSION_REST", "_COMMAND_REST", "_ERROR_CODE_REST", "_OS_SET",
    "_ARCH_SET",
)  # fmt: skip
WIDTH = 92  # characters of a written tuple's line, within ruff's 100 once indented
CHECKS = ("_only", "_is_uuid4", "_is_version", "_is_command", "_is_os_arch", "_is_error_code")


def _literal(value: object) -> str:
    """`value` as Python source, double-quoted like ruff format writes it."""
    if isinstance(value, str):
        return json.dumps(value)  # the schema's strings are plain ASCII: the same literal
    if isinstance(value, frozenset):  # a set's repr follows the hash seed: write it sorted
        return f"frozenset({_literal(tuple(sorted(value)))})"
    if isinstance(value, tuple):
        items = [_literal(item) for item in value]
        if len(value) == 1:
            return f"({items[0]},)"
        text = f"({', '.join(items)})"
        if len(text) <= WIDTH:
            return text
        lines, line = [], "   "
        for item in items:
            if len(line) + len(item) + 2 > WIDTH:
                lines.append(line)
                line = "   "
            line += f" {item},"
        return "(\n" + "\n".join([*lines, line]) + "\n)"
    return repr(value)


def rules() -> str:
    """The Python text of the copy (constants, checks, `FIELD_RULES`)."""
    lines = [f"{name} = {_literal(getattr(schema, name))}" for name in CONSTANTS]
    for name in CHECKS:
        lines += ["", "", inspect.getsource(getattr(schema, name)).rstrip()]
    lines += [
        "",
        "",
        "# (name, JSON type, nullable, max length, enum, check, minimum, maximum) per field",
        "FIELD_RULES = (",
    ]
    for field in schema.FIELDS:
        check = None
        if field.pattern is not None:
            check = schema.FAST_CHECKS[field.pattern].__name__  # KeyError: no plain check
        values = (field.name, field.json_type, field.nullable, field.max_length, field.enum)
        row = ", ".join([*(_literal(value) for value in values), str(check)])
        lines.append(f"    ({row}, {field.minimum!r}, {field.maximum!r}),")
    lines.append(")")
    return "\n".join(lines)
