"""`/v1/stats/*` over the real app and a real DuckDB store: token first, then the same answers."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
from starlette.testclient import TestClient

from candor.analytics import queries
from candor.analytics.answers import to_jsonable
from candor.server.http.app import create_app
from candor.server.http.stats_api import ROUTE_PATHS
from candor.server.runtime.settings import Settings
from candor.storage import open_store
from tests.support.dataset import DAY1, DAY3, WHOLE, load_known

if TYPE_CHECKING:
    from collections.abc import Iterator

    from candor.storage.base import Store

TOKEN = "s3cret-admin-token"
RANGE = {"from": DAY1.isoformat(), "to": DAY3.isoformat()}


def serve(store: Store) -> Iterator[TestClient]:
    app = create_app(Settings(admin_token=TOKEN, admin_token_generated=False), store)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    """One app over the known data set for the read-only tests of this module."""
    store = open_store(str(tmp_path_factory.mktemp("stats") / "events.duckdb"))
    load_known(store)
    try:
        for test_client in serve(store):
            yield test_client, store
    finally:
        store.close()


@pytest.fixture
def reader(shared: tuple[TestClient, Store]) -> TestClient:
    """A client of the shared app (tests using it must not write)."""
    return shared[0]


@pytest.fixture
def client(known: Store) -> Iterator[TestClient]:
    """A client of an app of its own over the known data set (for tests that change things)."""
    yield from serve(known)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ROUTE_PATHS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth("wrong-token"),
        auth(TOKEN + "x"),
        auth(TOKEN[:-1]),
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Cookie": f"token={TOKEN}"},
    ],
    ids=["none", "wrong", "longer", "shorter", "no-scheme", "basic", "empty", "cookie"],
)
def test_every_route_refuses_a_missing_or_wrong_token(
    reader: TestClient, path: str, headers: dict[str, str]
) -> None:
    """401 JSON with no data, whatever the route, even with bad parameters or the token in a URL."""
    for params in (RANGE, {"since": "nonsense"}, {"token": TOKEN}):
        answer = reader.get(path, params=params, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        body = answer.json()
        assert set(body) == {"error", "message"} and body["error"] == "unauthorized"
        assert "build" not in answer.text and TOKEN not in answer.text


def test_the_token_tests_cover_every_stats_route(reader: TestClient) -> None:
    """ROUTE_PATHS, which the tests above walk, is exactly the app's /v1/stats routes."""
    served = {getattr(r, "path", "") for r in reader.app.routes}  # type: ignore[attr-defined]
    assert {path for path in served if path.startswith("/v1/stats")} == set(ROUTE_PATHS)


@pytest.mark.parametrize("path", ROUTE_PATHS)
def test_every_route_answers_with_the_token(reader: TestClient, path: str) -> None:
    """200 with the envelope, not cacheable, naming the percentile and distinct methods."""
    answer = reader.get(path, params=RANGE, headers=auth())
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["range"] == {"start": "2025-03-03", "end": "2025-03-10", "days": 8}
    assert body["percentile_method"] == "nearest-rank" and body["distinct_method"] == "exact"
    assert body["data"] is not None


def test_answers_are_the_query_layer_answers(shared: tuple[TestClient, Store]) -> None:
    """Each section's data is exactly the query function's answer as JSON."""
    client, known = shared
    for name in queries.SECTIONS:
        answer = client.get(f"/v1/stats/{name}", params=RANGE, headers=auth()).json()
        assert answer["data"] == to_jsonable(getattr(queries, name)(known, WHOLE))
    summary = client.get("/v1/stats/summary", params=RANGE, headers=auth()).json()["data"]
    assert summary == to_jsonable(queries.summary(known, WHOLE))


def test_filters_reach_the_queries(reader: TestClient) -> None:
    """command=build and interactive=false narrow the overview as computed by hand."""
    params = {**RANGE, "command": "build"}
    overview = reader.get("/v1/stats/overview", params=params, headers=auth()).json()
    assert overview["filters"] == {"command": "build"}
    assert (overview["data"]["events"], overview["data"]["installations"]) == (7, 3)
    ci = reader.get(
        "/v1/stats/overview", params={**params, "interactive": "false"}, headers=auth()
    ).json()
    assert (ci["data"]["events"], ci["data"]["installations"]) == (1, 1)


def test_summary_sections(reader: TestClient) -> None:
    """?sections= picks sections; an unknown one is a 400."""
    picked = reader.get(
        "/v1/stats/summary", params={**RANGE, "sections": "overview,errors"}, headers=auth()
    )
    assert set(picked.json()["data"]) == {"overview", "errors"}
    bad = reader.get("/v1/stats/summary", params={"sections": "everything"}, headers=auth())
    assert bad.status_code == 400 and "everything" in bad.json()["message"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "7d", "from": "2025-01-01"}, "either"),
        ({"from": "2025-03-10", "to": "2025-03-01"}, "before"),
        ({"from": "3 March"}, "date"),
        ({"command": "Build!"}, "command"),
        ({"os_arch": "plan9-mips"}, "os_arch"),
        ({"interactive": "maybe"}, "interactive"),
        ({"limit": "5"}, "unknown parameter"),
        ({"cli_version": "x" * 65}, "too long"),
    ],
)
def test_bad_parameters_are_400(reader: TestClient, params: dict[str, str], words: str) -> None:
    """Each bad parameter gets a 400 with a one-line reason naming it, never a 500."""
    answer = reader.get("/v1/stats/overview", params=params, headers=auth())
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "bad_query" and words in body["message"]
    assert "\n" not in body["message"]


def test_repeated_parameter_is_400(reader: TestClient) -> None:
    """command=a&command=b is ambiguous: refused rather than silently picking one."""
    answer = reader.get("/v1/stats/overview?command=build&command=test", headers=auth())
    assert answer.status_code == 400


def test_ingest_stays_public_and_stats_read_only(client: TestClient) -> None:
    """Events go in without a token; nothing under /v1/stats accepts a write."""
    event = {
        "event_version": "1.0", "installation_id": "4f1c9a2e-8b7d-4c3a-9e5f-0a1b2c3d4e5f",
        "cli_version": "1.1.0", "command": "build", "os_arch": "linux-x86_64",
        "duration_ms": 5, "status": "success", "error_code": None, "is_interactive": True,
    }  # fmt: skip
    assert client.post("/v1/event", json=[event]).status_code == 202
    for path in ROUTE_PATHS:
        assert client.post(path, json={}, headers=auth()).status_code == 405
        assert client.delete(path, headers=auth()).status_code == 405
    today = dt.datetime.now(dt.UTC).date().isoformat()
    overview = client.get("/v1/stats/overview", params={"from": today}, headers=auth()).json()
    assert overview["data"]["events"] == 1


def test_store_failure_is_503(client: TestClient, known: Store) -> None:
    """A store that cannot answer gives a JSON 503, not a 500 or a traceback."""
    known.close()
    answer = client.get("/v1/stats/overview", params=RANGE, headers=auth())
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"


def test_dashboard_page_is_public_but_holds_no_data(reader: TestClient) -> None:
    """GET / is the shell (with a strict CSP and no third-party origin); data needs the token."""
    page = reader.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "http://" not in page.text and "https://" not in page.text
    for word in ("registry_timeout", "compile_error", "1.1.0", "linux-x86_64"):
        assert word not in page.text


def test_static_files_are_served_and_vendored(reader: TestClient) -> None:
    """The page's scripts and styles come from /static, the chart library with its licence."""
    page = reader.get("/").text
    for path in ("/static/chart-4.6.1.umd.min.js", "/static/dashboard.js", "/static/dashboard.css"):
        assert path in page
        answer = reader.get(path)
        assert answer.status_code == 200 and len(answer.content) > 1000
    licence = reader.get("/static/chart-4.6.1.LICENSE.md")
    assert "MIT" in licence.text or "Permission is hereby granted" in licence.text
    script = reader.get("/static/dashboard.js").text
    assert "sessionStorage" in script and "Authorization" in script and "localStorage" not in script
