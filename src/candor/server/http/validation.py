"""Strict validation of posted events, with msgspec types derived from `candor.schema`.

The fast path decodes each event straight into a Struct whose constraints come from the
schema's `Field`s (unknown keys forbidden, a bool is not an integer, patterns anchored as
`re.fullmatch` does). Only a rejected event takes the slow path: `schema.validate_event`
words the reason, so the client and the collector explain a problem in the same words. A
hypothesis test (tests/server/test_validation.py) proves both paths accept the same events.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from candor.schema import (
    FIELDS,
    FIELDS_BY_NAME,
    MAX_BATCH_EVENTS,
    cross_field_problem,
    validate_event,
)
from candor.server.http.errors import MalformedBody, PayloadTooLarge

if TYPE_CHECKING:
    from candor.schema import Field
    from candor.storage.base import Row

# An unknown key is echoed in its reason only when it looks like a field name: the answer is
# remembered for idempotency, and a key may carry anything a client chose to put there.
_ECHO_MAX = 64
_NOT_OBJECT = "event: must be a JSON object"
# How deep a body may nest arrays and objects. A valid body nests two deep (an array of flat
# objects); the margin is for the junk values of rejected events, which are still read to word
# their reason. Both decoders that read them (msgspec's and json's) recurse once per level and
# fail with RecursionError near the interpreter's limit (~1000): this stays far below it.
MAX_NESTING = 32
_STRING = re.compile(rb'"[^"]*"')  # once escapes are gone, a string cannot contain a quote
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1, +1, -1, -1 as signed bytes


def _anchored(pattern: str) -> str:
    """`pattern` for `re.search` (msgspec) with the meaning it has under `re.fullmatch`."""
    core = pattern.removeprefix("^").removesuffix("$")
    # "\Z", not "$": "$" also matches before a trailing newline, fullmatch does not.
    return rf"^(?:{core})\Z"


def _annotation(field: Field) -> Any:
    kind: Any
    if field.json_type == "boolean":
        kind = bool
    elif field.json_type == "integer":
        kind = Annotated[int, msgspec.Meta(ge=field.minimum, le=field.maximum)]
    elif field.enum is not None:
        kind = Literal[field.enum]
    else:
        kind = Annotated[
            str,
            msgspec.Meta(
                pattern=_anchored(field.pattern) if field.pattern else None,
                max_length=field.max_length,
            ),
        ]
    return kind | None if field.nullable else kind


# Field order is FIELD_NAMES order, so `astuple` gives a row ready for the store.
Event: type[msgspec.Struct] = msgspec.defstruct(
    "Event",
    [(field.name, _annotation(field)) for field in FIELDS],
    forbid_unknown_fields=True,
    module=__name__,
)
_decode_event = msgspec.json.Decoder(Event).decode
_decode_events = msgspec.json.Decoder(list[Event]).decode  # type: ignore[valid-type]
_decode_items = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_raw = msgspec.json.Decoder(msgspec.Raw).decode
_astuple = msgspec.structs.astuple


class Rejection:
    """Why one event of a request was not stored."""

    __slots__ = ("code", "index", "reason")

    def __init__(self, index: int, reason: str, code: str) -> None:
        self.index = index  # its position in the posted array (0 for a single object)
        self.reason = reason  # readable, in the schema's words
        self.code = code  # a bounded label for /metrics (never client-chosen text)


class Checked:
    """The outcome of validating one request body."""

    __slots__ = ("rejections", "rows", "total")

    def __init__(self, rows: list[Row], rejections: list[Rejection], total: int) -> None:
        self.rows = rows
        self.rejections = rejections
        self.total = total

    def answer(self) -> bytes:
        """The 202 body: counts, and each rejected event's index and reason."""
        if not self.rejections:
            return _all_accepted(len(self.rows))
        return msgspec.json.encode(
            {
                "accepted": len(self.rows),
                "rejected": len(self.rejections),
                "errors": [{"index": r.index, "reason": r.reason} for r in self.rejections],
            }
        )


@functools.cache
def _all_accepted(count: int) -> bytes:
    """The usual answer, built once per count (at most MAX_BATCH_EVENTS + 1 of them)."""
    return msgspec.json.encode({"accepted": count, "rejected": 0, "errors": []})


def check_body(body: bytes) -> Checked:
    """Validate a POST body: one event object or an array of at most MAX_BATCH_EVENTS.

    Raises MalformedBody (400) for a body that is not JSON, or JSON that is neither an object
    nor an array, and PayloadTooLarge (413) for too many events. Bad events are not errors:
    each becomes a Rejection with its index.
    """
    # The common body, every event valid, in one decoding pass; anything else (a bad event,
    # bad JSON, leading whitespace, too many events) is taken through the careful path below,
    # which finds the same valid events and words the rest. This pass cannot recurse deeply or
    # pass bad text on: an Event has only scalar fields, so the first nested value or unknown
    # key fails it at once, and every string it keeps is checked UTF-8.
    first = body[:1]
    try:
        if first == b"{":
            events: list[Any] = [_decode_event(body)]
        elif first == b"[":
            events = _decode_events(body)
        else:
            events = []
    except msgspec.DecodeError:  # ValidationError included
        events = []
    if events and len(events) <= MAX_BATCH_EVENTS:
        for event in events:
            # The one rule that spans two fields (cross_field_problem), inlined: hot path.
            if (event.error_code is None) != (event.status == "success"):
                break
        else:
            return Checked([_astuple(event) for event in events], [], len(events))
    return _check_each(body)


def _check_each(body: bytes) -> Checked:
    """check_body for any body: each event decoded and judged on its own.

    The one careful decode path: every way a body can fail is a MalformedBody (400) or a
    PayloadTooLarge (413), checked before anything recurses into it or trusts its text.
    """
    try:
        body.decode()  # msgspec.Raw does not check the text it skips; this checks it all
    except UnicodeDecodeError as error:
        raise MalformedBody(f"the body is not valid UTF-8 (byte {error.start})") from None
    if nesting_depth(body) > MAX_NESTING:
        raise MalformedBody(f"the body is nested deeper than {MAX_NESTING} arrays or objects")
    start = body.lstrip()[:1]
    try:
        items = _decode_items(body) if start == b"[" else [_decode_raw(body)]
    except msgspec.DecodeError as error:
        raise MalformedBody(f"the body is not valid JSON: {error}") from None
    if start not in (b"[", b"{"):
        raise MalformedBody("the body must be an event object or an array of events")
    if len(items) > MAX_BATCH_EVENTS:
        raise PayloadTooLarge(
            f"{len(items)} events in one request; at most {MAX_BATCH_EVENTS} are accepted"
        )
    rows: list[Row] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            event: Any = _decode_event(item)
        except msgspec.ValidationError as error:
            rejections.append(_rejection(index, item, str(error)))
            continue
        except msgspec.DecodeError as error:  # not expected once the checks above passed
            raise MalformedBody(f"event {index} is not valid JSON: {error}") from None
        problem = cross_field_problem(event.status, event.error_code)
        if problem is not None:
            rejections.append(Rejection(index, problem, "error_code_mismatch"))
            continue
        rows.append(_astuple(event))
    return Checked(rows, rejections, len(items))


def nesting_depth(body: bytes) -> int:
    """How deep `body` nests arrays and objects, counted without parsing (so without recursion).

    Brackets inside strings do not count: escapes are removed first (a backslash pair, then an
    escaped quote), so each string is a plain `"…"` a regular expression removes in one pass.
    """
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _STRING.sub(b"", unescaped).translate(None, _NOT_BRACKET)
    steps = memoryview(brackets.translate(_DEPTH_STEP)).cast("b")
    return max(itertools.accumulate(steps), default=0)


def event_problems(event: object) -> list[str]:
    """The collector's verdict on one decoded event: [] when it would be stored."""
    checked = check_body(json.dumps([event]).encode())
    return [rejection.reason for rejection in checked.rejections]


def _rejection(index: int, raw: msgspec.Raw, fallback: str) -> Rejection:
    """Word the reason as the schema does; keep msgspec's text if the schema disagrees."""
    try:
        problems = validate_event(json.loads(bytes(raw)))
    except ValueError:  # NaN-free, but json and msgspec differ on a few edge numbers
        problems = []
    if not problems:
        return Rejection(index, fallback, "invalid")
    first = problems[0]
    name, _, what = first.partition(": ")
    if what == "unknown field":
        shown = name if len(name) <= _ECHO_MAX and name.isidentifier() else "a key"
        reasons = [f"{shown}: unknown field (not part of the schema)"]
        reasons += [p for p in problems[1:] if not p.endswith(": unknown field")]
        return Rejection(index, "; ".join(reasons), "unknown_field")
    if first == _NOT_OBJECT:
        return Rejection(index, first, "not_an_object")
    code = f"missing_{name}" if what == "missing" else f"invalid_{name}"
    if name not in FIELDS_BY_NAME:
        code = "invalid"
    return Rejection(index, "; ".join(problems), code)
