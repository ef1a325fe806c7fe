"""POST /v1/event in process: the 202 body, each 4xx, gzip, limits and idempotency."""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING

import pytest
from starlette.testclient import TestClient

from candor.schema import FIELD_NAMES, MAX_BATCH_EVENTS, MAX_BODY_BYTES
from candor.server.http.app import create_app
from candor.server.runtime.settings import Settings
from candor.storage.base import Batching
from tests.support.load import make_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

    from candor.storage.base import Store

URL = "/v1/event"
JSON = {"content-type": "application/json"}


def post(client: TestClient, body: object, **headers: str) -> httpx.Response:
    answer: httpx.Response = client.post(
        URL, content=json.dumps(body).encode(), headers={**JSON, **headers}
    )
    return answer


def count(store: Store) -> int:
    return int(store.query("SELECT count(*) FROM events")[0][0])


def assert_json_error(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]


def test_a_single_event_is_stored_with_received_at(client: TestClient, store: Store) -> None:
    """One event object → 202 {accepted: 1}; the row holds its nine fields and a received_at."""
    event = make_event(status="failure", error_code="invalid_manifest")
    answer = post(client, event)
    assert answer.status_code == 202
    assert answer.json() == {"accepted": 1, "rejected": 0, "errors": []}
    (row,) = store.query(f"SELECT {', '.join(FIELD_NAMES)}, received_at FROM events")
    stored = dict(zip(FIELD_NAMES, row[:-1], strict=True))
    stored["installation_id"] = str(stored["installation_id"])
    assert stored == event
    assert row[-1] is not None


def test_a_batch_reports_each_rejected_event_by_index(client: TestClient, store: Store) -> None:
    """Bad events are rejected one by one with their index and reason; the good ones stored."""
    batch = [
        make_event(),
        {**make_event(), "hostname": "laptop"},
        make_event(duration_ms=True),
        make_event(command="build\n"),
        make_event(status="failure"),
        "not an event",
        make_event(),
    ]
    answer = post(client, batch)
    assert answer.status_code == 202
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (2, 5)
    reasons = {error["index"]: error["reason"] for error in body["errors"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert reasons[1].startswith("hostname: unknown field")
    assert reasons[2] == "duration_ms: must be an integer"
    assert reasons[3].startswith("command: must be")
    assert reasons[4] == "error_code: required when status is failure"
    assert reasons[5] == "event: must be a JSON object"
    assert count(store) == 2


def test_an_all_rejected_batch_stores_nothing(client: TestClient, store: Store) -> None:
    """A batch of only bad events is still a 202 (it was processed) and stores nothing."""
    answer = post(client, [{"ip": "10.0.0.1"}])
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 0
    assert count(store) == 0


@pytest.mark.parametrize("body", [b"", b"{", b"[1,]", b"\xff\xfe", b"42", b'"text"', b"null"])
def test_malformed_json_is_400(client: TestClient, body: bytes) -> None:
    """A body that is not JSON, or JSON that is neither an object nor an array, is a 400."""
    assert_json_error(client.post(URL, content=body, headers=JSON), 400, "malformed_request")


DEEP = 50_000  # far past the interpreter's recursion limit
GOOD = json.dumps(make_event()).encode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'[{"command": "\xff"}]', id="invalid UTF-8 in a field"),
        pytest.param(b'[{"command": "build"}, "\xed\xa0\x80"]', id="encoded lone surrogate"),
        pytest.param(b'{"command": "\xed\xa0\x80"}', id="lone surrogate in an object"),
        pytest.param(b'["\\ud800"]', id="escaped lone surrogate"),
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="arrays nested deep"),
        pytest.param(b'{"a": ' * DEEP + b"1" + b"}" * DEEP, id="objects nested deep"),
        pytest.param(b'[{"command": ' + b"[" * DEEP + b"]" * DEEP + b"}]", id="deep field"),
        pytest.param(b'[1, {"x": ' + b"[" * DEEP + b"]" * DEEP + b"}]", id="deep second item"),
        pytest.param(b"[" * DEEP, id="deep and truncated"),
        pytest.param(GOOD.replace(b'"', b"\x80", 1), id="bit-flipped quote"),
        pytest.param(b"[" + GOOD.replace(b"1.0", b"1.\xb0") + b"]", id="bit-flipped digit"),
    ],
)
def test_malformed_bodies_are_a_4xx_with_a_reason(client: TestClient, body: bytes) -> None:
    """Invalid UTF-8, lone surrogates and deep nesting get a JSON 4xx, never a 500."""
    answer = client.post(URL, content=body, headers=JSON)
    assert answer.status_code in (202, 400), answer.text
    if answer.status_code == 202:
        assert answer.json()["accepted"] == 0
    else:
        assert_json_error(answer, 400, "malformed_request")


def test_nesting_deeper_than_the_limit_is_named(client: TestClient) -> None:
    """A body nested past the limit is refused for its depth, before any decoder recurses."""
    deep = b'[{"a": ' + b"[" * 40 + b"]" * 40 + b"}]"
    answer = client.post(URL, content=deep, headers=JSON)
    assert_json_error(answer, 400, "malformed_request")
    assert "nested deeper than" in answer.json()["message"]
    shallow = b'[{"a": ' + b"[" * 8 + b"]" * 8 + b"}]"
    assert client.post(URL, content=shallow, headers=JSON).json()["rejected"] == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}],
)
def test_wrong_content_type_is_415(client: TestClient, headers: dict[str, str]) -> None:
    """Only application/json (any parameters) is accepted."""
    answer = client.post(URL, content=json.dumps(make_event()).encode(), headers=headers)
    assert_json_error(answer, 415, "unsupported_media_type")


def test_content_type_parameters_and_case_are_accepted(client: TestClient) -> None:
    """`Application/JSON; charset=utf-8` is still JSON."""
    answer = client.post(
        URL,
        content=json.dumps(make_event()).encode(),
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert answer.status_code == 202


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    """More than MAX_BODY_BYTES is refused, whatever the content."""
    body = b"[" + b" " * MAX_BODY_BYTES + b"]"
    assert_json_error(client.post(URL, content=body, headers=JSON), 413, "payload_too_large")


def test_a_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    """Without a Content-Length the body is counted as it arrives and cut at the limit."""

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b" " * 4096

    answer = client.post(URL, content=chunks(), headers=JSON)
    assert_json_error(answer, 413, "payload_too_large")


def test_more_than_the_batch_limit_is_413(client: TestClient, store: Store) -> None:
    """A JSON array of more than MAX_BATCH_EVENTS events is refused whole (the sender splits)."""
    batch = [make_event() for _ in range(MAX_BATCH_EVENTS + 1)]
    assert_json_error(post(client, batch), 413, "payload_too_large")
    assert post(client, batch[:MAX_BATCH_EVENTS]).json()["accepted"] == MAX_BATCH_EVENTS
    assert count(store) == MAX_BATCH_EVENTS


def test_gzip_bodies_are_accepted(client: TestClient, store: Store) -> None:
    """Content-Encoding: gzip is decoded before validation."""
    body = gzip.compress(json.dumps([make_event(), make_event()]).encode())
    answer = client.post(URL, content=body, headers={**JSON, "content-encoding": "gzip"})
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 2
    assert count(store) == 2


def test_a_gzip_bomb_is_413_not_memory(client: TestClient) -> None:
    """A small gzip body that decodes past MAX_BODY_BYTES is refused while decoding."""
    bomb = gzip.compress(b"[" + b" " * (64 * MAX_BODY_BYTES) + b"]")
    assert len(bomb) < MAX_BODY_BYTES
    answer = client.post(URL, content=bomb, headers={**JSON, "content-encoding": "gzip"})
    assert_json_error(answer, 413, "payload_too_large")


@pytest.mark.parametrize("body", [b"not gzip at all", gzip.compress(b"[]")[:-4]])
def test_broken_gzip_is_400(client: TestClient, body: bytes) -> None:
    """Garbage or a truncated stream under Content-Encoding: gzip is a 400."""
    answer = client.post(URL, content=body, headers={**JSON, "content-encoding": "gzip"})
    assert_json_error(answer, 400, "malformed_request")


def test_other_encodings_are_415(client: TestClient) -> None:
    """Only gzip (or none) is supported."""
    answer = client.post(URL, content=b"[]", headers={**JSON, "content-encoding": "br"})
    assert_json_error(answer, 415, "unsupported_media_type")


def test_a_repeated_idempotency_key_replays_the_answer(client: TestClient, store: Store) -> None:
    """The same key again: the first answer, marked as a replay, and no new rows."""
    batch = [make_event(), {"bad": 1}]
    first = post(client, batch, **{"idempotency-key": "k-1"})
    again = post(client, [make_event()], **{"idempotency-key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count(store) == 1
    assert post(client, batch, **{"idempotency-key": "k-2"}).json()["accepted"] == 1
    assert count(store) == 2


def test_an_all_rejected_request_with_a_key_is_replayed_too(client: TestClient) -> None:
    """A key is remembered even when nothing was stored, so a retry gets the same reasons."""
    first = post(client, [{"ip": "x"}], **{"idempotency-key": "only-bad"})
    again = post(client, [make_event()], **{"idempotency-key": "only-bad"})
    assert again.content == first.content
    assert again.json()["accepted"] == 0


@pytest.mark.parametrize("key", ["", "has space", "é", "x" * 256])
def test_an_invalid_idempotency_key_is_400(client: TestClient, key: str) -> None:
    """Keys are 1-255 visible ASCII characters."""
    answer = client.post(
        URL,
        content=json.dumps(make_event()).encode(),
        headers=[("content-type", "application/json"), ("idempotency-key", key.encode())],
    )
    assert_json_error(answer, 400, "malformed_request")


def test_rate_limited_requests_get_429_with_retry_after(
    make_client: Callable[..., TestClient], store: Store
) -> None:
    """Past the burst, a client gets 429 with Retry-After in whole seconds, nothing stored."""
    client = make_client({"CANDOR_RATE_LIMIT": "0.5", "CANDOR_RATE_BURST": "2"})
    statuses = [post(client, make_event()).status_code for _ in range(4)]
    assert statuses == [202, 202, 429, 429]
    answer = post(client, make_event())
    assert_json_error(answer, 429, "rate_limited")
    assert int(answer.headers["retry-after"]) >= 1
    assert count(store) == 2


def test_rate_limit_zero_turns_it_off(make_client: Callable[..., TestClient]) -> None:
    """CANDOR_RATE_LIMIT=0: no limiter at all."""
    client = make_client({"CANDOR_RATE_LIMIT": "0", "CANDOR_RATE_BURST": "1"})
    assert {post(client, make_event()).status_code for _ in range(5)} == {202}


@pytest.mark.parametrize(
    ("asked", "location"),
    [
        ("/healthz/", "/healthz"),
        ("/v1/stats/overview/?since=7d", "/v1/stats/overview?since=7d"),
        ("/openapi.json/", "/openapi.json"),
    ],
)
def test_the_trailing_slash_redirect_is_relative(
    client: TestClient, asked: str, location: str
) -> None:
    """/path/ redirects to /path with a Location that names no host, whatever Host said."""
    answer = client.get(asked, headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == location


def test_a_path_no_slash_can_fix_is_still_a_json_404(client: TestClient) -> None:
    """Without a route on the other side of the slash, the answer stays the JSON 404."""
    answer = client.get("/nowhere/", follow_redirects=False)
    assert_json_error(answer, 404, "not_found")


def test_unknown_paths_and_methods_are_json(client: TestClient) -> None:
    """404 and 405 come in the same JSON error shape."""
    assert_json_error(client.get("/nowhere"), 404, "not_found")
    assert_json_error(client.get(URL), 405, "method_not_allowed")


def test_a_store_that_cannot_commit_is_503_not_500(client: TestClient, store: Store) -> None:
    """If the store fails, the client is told to retry later (503), not that it erred."""
    store.close()
    answer = post(client, make_event())
    assert_json_error(answer, 503, "unavailable")
    assert_json_error(client.get("/healthz"), 503, "store_unavailable")


class BrokenStore:
    """A store whose commit has a bug (not a StoreError): what a 500 is for."""

    url, path = "broken://", None
    batching = Batching(max_events=1000, max_wait_s=0.0)

    def commit(self, submissions: object, *, now: object = None) -> list[object]:
        raise RuntimeError("a bug in the store, at 10.1.2.3")

    def tidy(self) -> None:
        pass

    def ping(self) -> None:
        pass

    def expire_keys(self, before: object) -> int:
        return 0


def test_a_bug_is_a_json_500_and_only_the_log_has_it(caplog: pytest.LogCaptureFixture) -> None:
    """An unexpected error answers 500 in the error shape; the log has it, the client does not."""
    settings = Settings.from_environ({"CANDOR_ADMIN_TOKEN": "t"})
    with TestClient(create_app(settings, BrokenStore()), raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        answer = post(client, make_event())
    assert_json_error(answer, 500, "internal_error")
    assert "10.1.2.3" not in answer.text and "bug" not in answer.text
    assert "a bug in the store" in caplog.text


def test_events_share_their_commit_time_as_received_at(client: TestClient, store: Store) -> None:
    """received_at is the commit's time, later for each commit: what the rollup watermark needs."""
    for _ in range(3):
        assert post(client, [make_event(), make_event()]).status_code == 202
    stamps = store.query("SELECT received_at, count(*) FROM events GROUP BY 1 ORDER BY 1")
    assert [count for _, count in stamps] == [2, 2, 2]
