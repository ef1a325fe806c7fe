"""The schema's plain-string checks accept exactly what its regular expressions accept.

`candor.schema` validates the pattern fields with string operations (`FAST_CHECKS`), because
compiling the published patterns cost every recording CLI run more than the rest of the
validation; the client's copy of the error-code rule (`candor.client`) spares an
opted-out run the schema's import. Both must agree with `re.fullmatch(pattern, value)` on
every string: hypothesis generates matching strings, near misses (one character replaced,
inserted or removed) and free text over each pattern's alphabet plus look-alike characters.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from candor import schema
from candor.client import _valid_error_code as valid_error_code

EXAMPLES = 400
# Characters near each rule's edges: upper case, separators, whitespace, a trailing newline's
# "\n", and Unicode that str methods or case folding treat like ASCII letters and digits.
TRICKY = "AZaz09-_.+ \n\t/é٣²ßKİ０"
ALPHABETS = {
    schema.UUID4_PATTERN: "0123456789abcdefABCDEF-489",
    schema.VERSION_PATTERN: "aZ09.+_-",
    schema.COMMAND_PATTERN: "abyz09_- ",
    schema.OS_ARCH_PATTERN: "".join(sorted(set("".join(schema.OS_NAMES + schema.ARCH_NAMES)))),
    schema.ERROR_CODE_PATTERN: "az09_",
}
PATTERNS = sorted(ALPHABETS)
# Valid values at each rule's corners (shortest, longest, every separator); their whole
# one-edit neighbourhood is compared below, which random drawing would rarely reach.
SEEDS = {
    schema.UUID4_PATTERN: (
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "00000000-0000-4000-8000-000000000000",
        "ffffffff-ffff-4fff-bfff-ffffffffffff",
    ),
    schema.VERSION_PATTERN: ("0.2.1", "A", "z" * 32, "1.0.0-rc.1+build_5"),
    schema.COMMAND_PATTERN: ("build", "db migrate", "a", "a0-_ b9 c"),
    schema.OS_ARCH_PATTERN: ("linux-x86_64", "macos-aarch64", "unknown-unknown", "ios-x86"),
    schema.ERROR_CODE_PATTERN: ("invalid_manifest", "a", "a" * 64, "z9_"),
}


@st.composite
def near_misses(draw: st.DrawFn, pattern: str) -> str:
    """A matching string with one character replaced, inserted or removed."""
    value = draw(st.from_regex(pattern, fullmatch=True))
    char = draw(st.sampled_from(ALPHABETS[pattern] + TRICKY))
    index = draw(st.integers(0, len(value)))
    edit = draw(st.sampled_from(("replace", "insert", "remove")))
    if edit == "insert" or not value:
        return value[:index] + char + value[index:]
    index = min(index, len(value) - 1)
    return value[:index] + (char if edit == "replace" else "") + value[index + 1 :]


def candidates(pattern: str) -> st.SearchStrategy[str]:
    """Matches, near misses, and free text over the pattern's alphabet."""
    alphabet = ALPHABETS[pattern] + TRICKY
    return st.one_of(
        st.from_regex(pattern, fullmatch=True),
        near_misses(pattern),
        st.text(st.sampled_from(alphabet), max_size=70),
    )


def test_every_pattern_field_has_a_fast_check() -> None:
    """Validation never falls back to compiling a regular expression."""
    patterns = {field.pattern for field in schema.FIELDS if field.pattern}
    assert patterns == set(schema.FAST_CHECKS) == set(PATTERNS)


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_fast_check_agrees_with_the_pattern(pattern: str, data: st.DataObject) -> None:
    """FAST_CHECKS[pattern](value) is True exactly when re.fullmatch(pattern, value) matches."""
    value = data.draw(candidates(pattern))
    expected = re.fullmatch(pattern, value) is not None
    assert schema.FAST_CHECKS[pattern](value) is expected, value


def neighbours(value: str, alphabet: str) -> set[str]:
    """Every string one replacement, insertion or removal away from `value`."""
    found = set()
    for index in range(len(value) + 1):
        found.add(value[:index] + value[index + 1 :])
        for char in alphabet:
            found.add(value[:index] + char + value[index:])
            found.add(value[:index] + char + value[index + 1 :])
    return found


@pytest.mark.parametrize("pattern", PATTERNS)
def test_fast_check_agrees_on_every_near_miss_of_the_corners(pattern: str) -> None:
    """Around each corner-case value, check and pattern agree on every one-edit variant."""
    check = schema.FAST_CHECKS[pattern]
    for seed in SEEDS[pattern]:
        assert check(seed), seed
        for value in neighbours(seed, ALPHABETS[pattern] + TRICKY):
            assert check(value) is (re.fullmatch(pattern, value) is not None), value


@settings(max_examples=EXAMPLES, deadline=None)
@given(value=candidates(schema.ERROR_CODE_PATTERN))
def test_client_error_code_rule_agrees_with_the_schema(value: str) -> None:
    """Telemetry.declare_error's check accepts exactly the codes the schema's field accepts."""
    field = schema.FIELDS_BY_NAME["error_code"]
    assert valid_error_code(value) is (schema.field_problem(field, value) is None), value
    assert valid_error_code(value) is (re.fullmatch(field.pattern or "", value) is not None)


def test_client_error_code_rule_agrees_on_every_near_miss_of_the_corners() -> None:
    """The client's copy of the rule agrees with the pattern around its corner cases too."""
    pattern = schema.ERROR_CODE_PATTERN
    for seed in SEEDS[pattern]:
        for value in neighbours(seed, ALPHABETS[pattern] + TRICKY):
            assert valid_error_code(value) is (re.fullmatch(pattern, value) is not None), value


def test_client_error_code_rule_refuses_non_strings() -> None:
    """None, numbers and bytes are not error codes, though None is a valid event value."""
    for value in (None, 1, b"boom", ["boom"]):
        assert not valid_error_code(value)
