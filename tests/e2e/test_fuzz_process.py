"""A short property-based fuzz against the real `candor serve` process: no 500, no crash."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.strategies import any_event

if TYPE_CHECKING:
    from tests.support.collector import Collector

bodies = st.one_of(
    st.lists(any_event, max_size=5).map(lambda events: json.dumps(events).encode()),
    st.binary(max_size=120),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, key=st.none() | st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True))
def fuzz_once(collector: Collector, http: httpx.Client, body: bytes, key: str | None) -> None:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    answer = http.post(collector.event_url, content=body, headers=headers)
    assert answer.status_code in (202, 400, 413), answer.text
    assert answer.headers["content-type"] == "application/json"


def test_fuzzing_the_real_process(collector: Collector) -> None:
    """Generated bodies get 202/4xx only; the process stays up and stores only valid rows."""
    with httpx.Client(timeout=30) as http:
        fuzz_once(collector, http)
    collector.assert_survived_fuzzing()
