"""The nine fields of a Candor telemetry event (schema 1.0), as plain data.

This module is the single source of truth for what is collected. From it come the client's
validation (`validate_event`), the collector's msgspec structs, the shipped `schema.json`
(`json_schema()`, regenerated and diffed by a test) and the Markdown policy (`candor.policy`).
It uses the standard library only and imports nothing from candor.

Run `python -m candor.schema` to print the JSON Schema.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the typing module would cost a host CLI an import (see candor.client)
if TYPE_CHECKING:
    import re
    from collections.abc import Callable

EVENT_VERSION = "1.0"

# Wire limits shared by the client's sender and the collector's endpoint.
MAX_BATCH_EVENTS = 500  # events in one POST body (a JSON array)
MAX_BODY_BYTES = 512 * 1024  # one POST body, after any gzip decoding
EVENT_PATH = "/v1/event"

# The names Rust's std::env::consts::{OS, ARCH} use, so CLIs written in either language agree.
# "unknown" stands for anything else: better a coarse value than a raw platform string.
OS_NAMES = (
    "linux", "macos", "windows", "freebsd", "netbsd", "openbsd", "dragonfly", "solaris",
    "illumos", "android", "ios", "aix", "unknown",
)  # fmt: skip
ARCH_NAMES = (
    "x86_64", "aarch64", "x86", "arm", "riscv64", "powerpc", "powerpc64", "s390x", "mips",
    "mips64", "loongarch64", "sparc64", "unknown",
)  # fmt: skip

STATUSES = ("success", "failure")

# Error codes every CLI may use without declaring them.
USAGE_ERROR = "usage_error"  # the CLI rejected its arguments (Click's UsageError, argparse)
INTERRUPTED = "interrupted"  # Ctrl-C (KeyboardInterrupt)
INTERNAL_ERROR = "internal_error"  # any exception the CLI did not declare
RESERVED_ERROR_CODES = (USAGE_ERROR, INTERRUPTED, INTERNAL_ERROR)

# Environment variables that mean "running under CI", whatever their value (except empty).
CI_VARIABLES = (
    "CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID", "GITHUB_ACTIONS", "GITLAB_CI",
    "BUILDKITE", "TF_BUILD", "JENKINS_URL", "CIRCLECI", "TRAVIS", "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ID", "DRONE", "APPVEYOR", "SEMAPHORE",
    "BUDDY", "HEROKU_TEST_RUN_ID",
)  # fmt: skip

MAX_DURATION_MS = 2**31 - 1  # about 24.8 days; longer runs are clamped by the client


class Field:
    """One data point of the event, with its rule in both human and machine form."""

    __slots__ = (
        "description", "enum", "example", "json_type", "max_length", "maximum", "minimum",
        "name", "nullable", "pattern", "rule",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        json_type: str,
        description: str,
        example: object,
        rule: str,
        *,
        nullable: bool = False,
        pattern: str | None = None,
        max_length: int | None = None,
        enum: tuple[str, ...] | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> None:
        self.name = name
        self.json_type = json_type  # "string", "integer" or "boolean"
        self.description = description  # the policy's wording
        self.example = example
        self.rule = rule  # what a value must be, for humans (policy, error messages)
        self.nullable = nullable
        self.pattern = pattern
        self.max_length = max_length
        self.enum = enum
        self.minimum = minimum
        self.maximum = maximum

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


UUID4_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,31}$"
COMMAND_PATTERN = r"^[a-z][a-z0-9_-]*( [a-z][a-z0-9_-]*)*$"
OS_ARCH_PATTERN = rf"^({'|'.join(OS_NAMES)})-({'|'.join(ARCH_NAMES)})$"
ERROR_CODE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

FIELDS: tuple[Field, ...] = (
    Field(
        "event_version",
        "string",
        "The schema version of this telemetry event.",
        EVENT_VERSION,
        f'always "{EVENT_VERSION}"',
        enum=(EVENT_VERSION,),
    ),
    Field(
        "installation_id",
        "string",
        "A randomly generated UUID created on first run to anonymously count unique CLI "
        "installations. See below for more details.",
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "a canonical lower-case version 4 UUID",
        pattern=UUID4_PATTERN,
        max_length=36,
    ),
    Field(
        "cli_version",
        "string",
        "The version of the CLI being used (e.g., from {cli} --version).",
        "0.2.1",
        "letters, digits and . + _ -, at most 32 characters",
        pattern=VERSION_PATTERN,
        max_length=32,
    ),
    Field(
        "command",
        "string",
        "The specific CLI command that was executed (e.g., deploy, build). Only the command's "
        "name from the CLI's own command tree: never an argument, option or value you typed.",
        "build",
        "declared command names, lower-case words joined by one space, at most 64 characters",
        pattern=COMMAND_PATTERN,
        max_length=64,
    ),
    Field(
        "os_arch",
        "string",
        "The operating system and architecture (e.g., from std::env::consts::OS and ARCH).",
        "linux-x86_64",
        "{os}-{arch} with the names of Rust's std::env::consts",
        pattern=OS_ARCH_PATTERN,
        max_length=32,
    ),
    Field(
        "duration_ms",
        "integer",
        "The time the command took to execute, in milliseconds.",
        850,
        "a non-negative whole number of milliseconds, from a monotonic clock",
        minimum=0,
        maximum=MAX_DURATION_MS,
    ),
    Field(
        "status",
        "string",
        "Whether the command succeeded or failed.",
        "success",
        '"success" or "failure"',
        enum=STATUSES,
    ),
    Field(
        "error_code",
        "string",
        "If the command failed, a sanitized, high-level error code. We never collect full "
        "error messages or stack traces.",
        "invalid_manifest",
        "null on success; on failure a snake_case code the CLI declared, or one of "
        + ", ".join(RESERVED_ERROR_CODES),
        nullable=True,
        pattern=ERROR_CODE_PATTERN,
        max_length=64,
    ),
    Field(
        "is_interactive",
        "boolean",
        "Whether the command was run in an interactive terminal or a script (e.g., CI/CD).",
        True,
        "true only when stdin and stdout are terminals and no CI variable is set",
    ),
)

FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in FIELDS)
FIELDS_BY_NAME: dict[str, Field] = {field.name: field for field in FIELDS}

# What is never collected, as the policy words it: (heading, detail).
NOT_COLLECTED: tuple[tuple[str, str], ...] = (
    ("Personally Identifiable Information (PII)", "No names, email addresses, usernames, etc."),
    ("Sensitive Information", "No IP addresses, hostnames, or MAC addresses."),
    (
        "Command Arguments or Flags",
        "These could contain sensitive data like file paths, secrets, or other private "
        "information.",
    ),
    ("Environment Variables", "Your shell environment is your own."),
    ("Contents of your files or code", ""),
)

_TYPE_PHRASES = {"string": "a string", "integer": "an integer", "boolean": "true or false"}

# Each pattern above, checked with plain string operations. The client validates every event
# it records, and compiling these regular expressions cost each CLI run more than the rest of
# the validation; the patterns stay the published rule (schema.json, the collector's structs).
# A hypothesis test (tests/properties/test_fast_checks.py) proves each check accepts exactly
# the strings `re.fullmatch(pattern, value)` accepts.
_HEX = "0123456789abcdef"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = _LOWER + _LOWER.upper() + "0123456789"
_VERSION_REST = _ALNUM + ".+_-"
_COMMAND_REST = _LOWER + "0123456789_-"
_ERROR_CODE_REST = _LOWER + "0123456789_"
_OS_SET = frozenset(OS_NAMES)
_ARCH_SET = frozenset(ARCH_NAMES)


def _only(value: str, allowed: str) -> bool:
    # strip() removes every leading and trailing character found in `allowed`: nothing is
    # left exactly when every character of `value` is one of them.
    return not value.strip(allowed)


def _is_uuid4(value: str) -> bool:
    return (
        len(value) == 36
        and value[8] == value[13] == value[18] == value[23] == "-"
        and value[14] == "4"
        and value[19] in "89ab"
        and _only(value[:8] + value[9:13] + value[14:18] + value[19:23] + value[24:], _HEX)
    )


def _is_version(value: str) -> bool:
    return 0 < len(value) <= 32 and value[0] in _ALNUM and _only(value, _VERSION_REST)


def _is_command(value: str) -> bool:
    # split(" ") keeps the empty words that a leading, trailing or doubled space makes.
    for word in value.split(" "):
        if not word or word[0] not in _LOWER or not _only(word, _COMMAND_REST):
            return False
    return True


def _is_os_arch(value: str) -> bool:
    # Every "-" is tried as the separator, as the regular expression's alternation would.
    dash = value.find("-")
    while dash >= 0:
        if value[:dash] in _OS_SET and value[dash + 1 :] in _ARCH_SET:
            return True
        dash = value.find("-", dash + 1)
    return False


def _is_error_code(value: str) -> bool:
    return 0 < len(value) <= 64 and value[0] in _LOWER and _only(value, _ERROR_CODE_REST)


FAST_CHECKS: dict[str, Callable[[str], bool]] = {
    UUID4_PATTERN: _is_uuid4,
    VERSION_PATTERN: _is_version,
    COMMAND_PATTERN: _is_command,
    OS_ARCH_PATTERN: _is_os_arch,
    ERROR_CODE_PATTERN: _is_error_code,
}
_compiled: dict[str, re.Pattern[str]] = {}


def _matches(pattern: str, value: str) -> bool:
    check = FAST_CHECKS.get(pattern)
    if check is not None:
        return check(value)
    compiled = _compiled.get(pattern)  # a pattern without a fast check (none today)
    if compiled is None:
        import re

        compiled = _compiled[pattern] = re.compile(pattern)
    # fullmatch, not match: "$" alone would accept a trailing newline.
    return compiled.fullmatch(value) is not None


def field_problem(field: Field, value: object) -> str | None:
    """Why `value` is not acceptable for `field`, or None when it is."""
    if value is None:
        return None if field.nullable else f"{field.name}: must not be null"
    if field.json_type == "boolean":
        ok = isinstance(value, bool)
    elif field.json_type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        return f"{field.name}: must be {_TYPE_PHRASES[field.json_type]}"
    if isinstance(value, str):
        if field.max_length is not None and len(value) > field.max_length:
            return f"{field.name}: longer than {field.max_length} characters"
        if field.enum is not None and value not in field.enum:
            return f"{field.name}: must be {field.rule}"
        if field.pattern is not None and not _matches(field.pattern, value):
            return f"{field.name}: must be {field.rule}"
    elif isinstance(value, int) and not isinstance(value, bool):
        if field.minimum is not None and value < field.minimum:
            return f"{field.name}: must be at least {field.minimum}"
        if field.maximum is not None and value > field.maximum:
            return f"{field.name}: must be at most {field.maximum}"
    return None


def cross_field_problem(status: object, error_code: object) -> str | None:
    """The one rule that spans two fields: an error code exactly when the command failed."""
    if status == "success" and error_code is not None:
        return "error_code: must be null when status is success"
    if status == "failure" and error_code is None:
        return "error_code: required when status is failure"
    return None


def validate_event(event: object) -> list[str]:
    """Every reason `event` is not a valid schema-1.0 event; an empty list when it is."""
    if not isinstance(event, dict):
        return ["event: must be a JSON object"]
    problems = [f"{key}: unknown field" for key in event if key not in FIELDS_BY_NAME]
    for field in FIELDS:
        if field.name not in event:
            problems.append(f"{field.name}: missing")
            continue
        problem = field_problem(field, event[field.name])
        if problem:
            problems.append(problem)
    if not problems:
        problem = cross_field_problem(event["status"], event["error_code"])
        if problem:
            problems.append(problem)
    return problems


def json_schema() -> dict[str, object]:
    """The event as a JSON Schema (draft 2020-12): the file shipped as candor/schema.json."""
    properties: dict[str, object] = {}
    for field in FIELDS:
        spec: dict[str, object] = {
            "type": [field.json_type, "null"] if field.nullable else field.json_type,
            "description": field.description,
            "examples": [field.example],
        }
        for key, value in (
            ("enum", list(field.enum) if field.enum else None),
            ("pattern", field.pattern),
            ("maxLength", field.max_length),
            ("minimum", field.minimum),
            ("maximum", field.maximum),
        ):
            if value is not None:
                spec[key] = value
        properties[field.name] = spec
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://candor.dev/schema/event-1.0.json",
        "title": f"Candor telemetry event {EVENT_VERSION}",
        "type": "object",
        "properties": properties,
        "required": list(FIELD_NAMES),
        "additionalProperties": False,
        "if": {"properties": {"status": {"const": "success"}}},
        "then": {"properties": {"error_code": {"type": "null"}}},
        "else": {"properties": {"error_code": {"type": "string"}}},
    }


def render_json_schema() -> str:
    """The exact text of schema.json."""
    import json

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render_json_schema(), end="")
