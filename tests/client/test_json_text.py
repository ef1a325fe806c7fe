"""The client's json-free reader and writer give exactly what the json package gives.

`candor.client.recording.parse_json` and `compact_json` spare every recording run the import of
json; they must never change a value, an error or a byte. Hypothesis compares them with
`json.loads`/`json.dumps` on generated documents, on near misses (one character replaced,
inserted or removed) and on free text over JSON's punctuation.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from candor.client.recording import compact_json, parse_json

EXAMPLES = 600
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
DOCUMENTS = st.recursive(
    SCALARS, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=12
)
# JSON's punctuation and words, escapes, control and non-ASCII characters, NaN's letters.
NOISE = '{}[]",:-+.eE0123456789 \t\n\r\\truefalsnl\x00\x1f\x7fé\u2028NaIify'


def outcome(parse: object, text: str | bytes) -> tuple[object, ...]:
    """("ok", the value as canonical JSON) or ("error", the exception's type and message)."""
    try:
        value = parse(text)  # type: ignore[operator]
    except ValueError as error:
        return ("error", type(error), str(error))
    if isinstance(value, float) and math.isnan(value):
        return ("ok", "NaN")
    return ("ok", json.dumps(value), type(value))


def assert_same(text: str | bytes) -> None:
    assert outcome(parse_json, text) == outcome(json.loads, text)


@settings(max_examples=EXAMPLES)
@given(DOCUMENTS, st.sampled_from([None, 2]), st.booleans())
def test_parse_equals_json_on_documents(
    document: object, indent: int | None, ascii_only: bool
) -> None:
    """Any document json writes (indented or compact, escaped or not) reads as json reads it."""
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
    assert_same(text)
    assert_same(text.encode("utf-8"))


@settings(max_examples=EXAMPLES)
@given(
    DOCUMENTS,
    st.integers(min_value=0),
    st.sampled_from(list('{}[]",:-+.eE0 \\x\x7fa1')),
    st.sampled_from(["replace", "insert", "delete"]),
)
def test_parse_equals_json_on_near_misses(
    document: object, position: int, char: str, how: str
) -> None:
    """A document with one character changed gives json's value or json's exact error."""
    text = json.dumps(document)
    index = position % (len(text) + 1)
    if how == "replace":
        text = text[:index] + char + text[index + 1 :]
    elif how == "insert":
        text = text[:index] + char + text[index:]
    else:
        text = text[:index] + text[index + 1 :]
    assert_same(text)


@settings(max_examples=EXAMPLES)
@given(st.text(alphabet=NOISE, max_size=40))
def test_parse_equals_json_on_noise(text: str) -> None:
    """Free text over JSON's punctuation gives json's value or json's exact error."""
    assert_same(text)


@pytest.mark.parametrize(
    "data",
    [b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), b'{"a": "\xff"}', '\ufeff{"a": 1}'],
)
def test_parse_leaves_encodings_and_byte_order_marks_to_json(data: bytes | str) -> None:
    """A BOM, UTF-16 or invalid UTF-8 is handled (or refused) exactly as json does it."""
    assert_same(data)


@settings(max_examples=EXAMPLES)
@given(
    st.dictionaries(
        st.text(),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text()
        | st.lists(st.integers()),
    )
)
def test_compact_equals_json(value: dict[str, object]) -> None:
    """A flat object is written byte for byte as json.dumps(separators=(",", ":")) writes it."""
    assert compact_json(value) == json.dumps(value, separators=(",", ":"))


def test_compact_writes_an_event_by_hand() -> None:
    """A schema-valid event, what every recording run writes, comes out as json's text."""
    event = {
        "event_version": "1.0", "installation_id": "3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        "cli_version": "0.2.1", "command": "db migrate", "os_arch": "linux-x86_64",
        "duration_ms": 12, "status": "failure", "error_code": "usage_error",
        "is_interactive": False,
    }  # fmt: skip
    assert compact_json(event) == json.dumps(event, separators=(",", ":"))
