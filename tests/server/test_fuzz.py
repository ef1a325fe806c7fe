"""Property-based fuzzing of POST /v1/event in process: no 500, nothing invalid stored."""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from candor.schema import FIELD_NAMES, validate_event
from tests.server.strategies import any_event, json_values

if TYPE_CHECKING:
    from starlette.testclient import TestClient

    from candor.storage.base import Store

bodies = st.one_of(
    st.lists(any_event, max_size=8).map(lambda events: json.dumps(events).encode()),
    any_event.map(lambda event: json.dumps(event).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
)
# Mostly JSON, so most examples get past the content checks to the validation.
content_types = st.sampled_from(
    ["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain", "", "json"]
)
headers = st.fixed_dictionaries(
    {"content-type": content_types},
    optional={
        "content-encoding": st.sampled_from(["gzip", "identity", "br", ""]),
        "idempotency-key": st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
        ),
    },
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, request_headers=headers, compress=st.booleans())
def test_no_input_yields_a_500_or_stores_an_invalid_event(
    client: TestClient, store: Store, body: bytes, request_headers: dict[str, str], compress: bool
) -> None:
    """Any body and header mix gets a 2xx/4xx JSON answer; accepted counts match the store."""
    if compress and request_headers.get("content-encoding") == "gzip":
        body = gzip.compress(body)
    before = store.query("SELECT count(*) FROM events")[0][0]
    answer = client.post("/v1/event", content=body, headers=request_headers)
    assert answer.status_code in (202, 400, 413, 415), answer.text
    note_event(f"HTTP {answer.status_code}, accepted {answer.json().get('accepted', 0) > 0}")
    payload = answer.json()
    after = store.query("SELECT count(*) FROM events")[0][0]
    if answer.status_code == 202:
        if answer.headers.get("idempotent-replayed") != "true":
            assert after - before == payload["accepted"]
    else:
        assert set(payload) == {"error", "message"}
        assert after == before
    for row in store.query(f"SELECT {', '.join(FIELD_NAMES)} FROM events"):
        event = dict(zip(FIELD_NAMES, row, strict=True))
        event["installation_id"] = str(event["installation_id"])
        assert validate_event(event) == []
