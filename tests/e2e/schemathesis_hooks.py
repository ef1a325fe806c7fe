"""Schemathesis hooks: the stats API's rules between parameters, which no schema can state.

/openapi.json gives each query parameter its exact schema; what spans two parameters is said
in their descriptions (since or from/to, not both; from not after to; at most MAX_RANGE_DAYS
days, with `from` alone running to today). A generated query that breaks one of these is
dropped here (positive cases only), so that every other query is held to "schema-valid
means accepted".

POST /v1/event judges each event on its own: a batch with bad events is a 202 that counts them
as rejected, not a 400. So its 202 answers are held by a stricter check of their own,
`each_event_judged_by_the_schema`, instead of "schema-violating request accepted": exactly the
events the Event schema allows are accepted.

Loaded by `st run` through SCHEMATHESIS_HOOKS (see tests/e2e/test_fuzz_http.py).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import jsonschema_rs
import schemathesis
from schemathesis.generation.modes import GenerationMode

from candor.analytics.filters import MAX_RANGE_DAYS, utc_today
from candor.schema import EVENT_PATH, FIELDS, json_schema
from candor.server.http.stats_parameters import DAY_PATTERN

_DAY = re.compile(DAY_PATTERN)
_SPAN_WHEN_ONLY_TO = dt.timedelta(days=29)  # `to` alone: the 30 days ending there
ACCEPTED = 202
_EVENT = jsonschema_rs.validator_for(json_schema(), validate_formats=True)
_INTEGER_FIELDS = [field.name for field in FIELDS if field.json_type == "integer"]
NEGATIVE_DATA_ACCEPTED = "ST201"  # schemathesis's code for "schema-violating request accepted"


def _day(value: Any) -> dt.date | None:
    """The day `value` names if it is a valid `from`/`to` on its own, else None."""
    if not isinstance(value, str) or _DAY.fullmatch(value) is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    """Drop a schema-valid case that breaks a rule between the range parameters.

    Only positive cases: a negative one breaks some rule on purpose and must be refused.
    """
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return True
    return keeps_range_rules(case.query or {})


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Any, case: schemathesis.Case, response: Any
) -> bool:
    """Keep every failure but "schema-violating request accepted" for a 202 to POST /v1/event.

    Such an answer accepts only the valid events, which `each_event_judged_by_the_schema`
    checks; and a retry with an Idempotency-Key seen before is answered as the first time and
    stores nothing, whatever its body (the document says so; the fuzzer reuses keys).
    """
    per_event = case.path == EVENT_PATH and response.status_code == ACCEPTED
    return not (per_event and getattr(failure, "code", "") == NEGATIVE_DATA_ACCEPTED)


@schemathesis.check
def each_event_judged_by_the_schema(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """A 202 to POST /v1/event accepts exactly the events the Event schema allows."""
    if case.path != EVENT_PATH or response.status_code != ACCEPTED or _replayed(response):
        return
    body = case.body
    events = body if isinstance(body, list) else [body]
    valid = sum(1 for event in events if _is_valid_event(event))
    answer = response.json()
    if (answer["accepted"], answer["rejected"]) != (valid, len(events) - valid):
        raise AssertionError(
            f"{valid} of {len(events)} events are valid, but the answer says {answer}"
        )


def _is_valid_event(event: Any) -> bool:
    """The Event schema's verdict, except that 1.0 is not an integer.

    JSON Schema counts any number with no fraction as an integer; the collector, like the
    client and candor.schema, takes only an integer written as one (the one rule of the
    schema's words that its JSON Schema cannot state).
    """
    if isinstance(event, dict) and any(
        isinstance(event.get(name), float) for name in _INTEGER_FIELDS
    ):
        return False
    return _EVENT.is_valid(event)


def _replayed(response: Any) -> bool:
    value = response.headers.get("idempotent-replayed")
    return value in ("true", ["true"])


def keeps_range_rules(query: dict[str, Any]) -> bool:
    """False when the range parameters break a rule between them."""
    since, start, end = query.get("since"), query.get("from"), query.get("to")
    if since is not None and (start is not None or end is not None):
        return False
    if start is None and end is None:
        return True
    first, last = _day(start), _day(end)
    if end is None:
        last = utc_today()
    if start is None and last is not None:
        first = last - _SPAN_WHEN_ONLY_TO
    if first is None or last is None:
        return True  # a bad day on its own: the schema says so, and the server must refuse it
    return first <= last and (last - first).days + 1 <= MAX_RANGE_DAYS
