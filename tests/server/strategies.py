"""Hypothesis strategies for events: valid ones, near misses, and arbitrary JSON."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from candor.schema import ARCH_NAMES, FIELDS, OS_NAMES, RESERVED_ERROR_CODES

_WORD = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)

valid_values: dict[str, st.SearchStrategy[Any]] = {
    "event_version": st.just("1.0"),
    "installation_id": st.uuids(version=4).map(str),
    "cli_version": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,31}", fullmatch=True),
    "command": st.lists(_WORD, min_size=1, max_size=3).map(" ".join).filter(lambda c: len(c) <= 64),
    "os_arch": st.builds(
        lambda os_, arch: f"{os_}-{arch}", st.sampled_from(OS_NAMES), st.sampled_from(ARCH_NAMES)
    ),
    "duration_ms": st.integers(0, 2**31 - 1),
    "status": st.just("success"),
    "error_code": st.none(),
    "is_interactive": st.booleans(),
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=80),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
# Values that are close to valid: edge strings, wrong types, boundary numbers.
tricky_values = st.one_of(
    json_scalars,
    st.sampled_from(
        [
            "",
            " ",
            "1.0\n",
            "build\n",
            "Build",
            "build  run",
            "linux-x86_64\n",
            "linux-amd64",
            "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D",
            "a1b2c3d4-e5f6-1a7b-8c9d-0e1f2a3b4c5d",
            "failure",
            "success",
            "x" * 33,
            "x" * 65,
            "invalid_manifest",
            *RESERVED_ERROR_CODES,
            -1,
            0,
            2**31 - 1,
            2**31,
            1.0,
            850.5,
            True,
            "١٢٣",
            "ｂｕｉｌｄ",
        ]
    ),
)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event; failures carry an error code."""
    event = {name: draw(strategy) for name, strategy in valid_values.items()}
    if draw(st.booleans()):
        event["status"] = "failure"
        event["error_code"] = draw(st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True))
    return event


@st.composite
def mutated_events(draw: st.DrawFn) -> object:
    """A valid event with a few changes: a field replaced, dropped, or an extra key added."""
    event: dict[str, Any] = draw(valid_events())
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        name = draw(st.sampled_from([field.name for field in FIELDS]))
        if action == "replace":
            event[name] = draw(tricky_values)
        elif action == "drop":
            event.pop(name, None)
        else:
            extra = draw(st.sampled_from(["hostname", "ip", "user", "args", "env", name.upper()]))
            event[extra] = draw(json_scalars)
    return event


any_event = st.one_of(valid_events(), mutated_events(), json_values)
