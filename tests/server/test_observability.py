"""GET /healthz, /metrics and /openapi.json."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING

from starlette.routing import Route

from candor.analytics import queries
from candor.analytics.answers import Overview
from candor.schema import MAX_BATCH_EVENTS, json_schema
from candor.server.http.observability import PROMETHEUS_TYPE
from candor.server.http.stats_api import ROUTE_PATHS
from candor.server.http.stats_parameters import PARAMETERS
from tests.server.conftest import TEST_TOKEN
from tests.support.load import make_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.testclient import TestClient

    from candor.storage.base import Store


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from:\n{text}"
    return float(match.group(1))


def test_healthz_checks_the_store(client: TestClient) -> None:
    """/healthz answers 200 with the store reachable."""
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "store": "ok"}


def test_metrics_count_events_reasons_batches_and_commits(client: TestClient) -> None:
    """After some traffic /metrics shows accepted, rejected by reason, batch sizes, commits."""
    headers = {"content-type": "application/json"}
    bad = [{**make_event(), "hostname": "h"}, make_event(cli_version="")]
    batch = [make_event(), make_event(), *bad]
    client.post("/v1/event", content=json.dumps(batch).encode(), headers=headers)
    client.post("/v1/event", content=b"{", headers=headers)
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TEST_TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    assert metric(text, "candor_events_accepted_total") == 2
    assert metric(text, 'candor_events_rejected_total{reason="unknown_field"}') == 1
    assert metric(text, 'candor_events_rejected_total{reason="invalid_cli_version"}') == 1
    assert metric(text, 'candor_requests_total{status="202"}') == 1
    assert metric(text, 'candor_requests_total{status="400"}') == 1
    assert metric(text, "candor_request_events_count") == 1
    assert metric(text, 'candor_request_events_bucket{le="5"}') == 1
    assert metric(text, "candor_commit_events_sum") == 2
    assert metric(text, "candor_commit_seconds_count") == 1
    assert "hostname" not in text  # labels never carry client text


def test_openapi_describes_the_endpoint_from_the_schema(client: TestClient) -> None:
    """/openapi.json is OpenAPI 3.1 whose Event schema is the shipped JSON Schema."""
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    post = document["paths"]["/v1/event"]["post"]
    assert set(post["responses"]) >= {"202", "400", "413", "415", "429"}
    body = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert body[1]["maxItems"] == MAX_BATCH_EVENTS
    event = document["components"]["schemas"]["Event"]
    expected = {k: v for k, v in json_schema().items() if k not in ("$schema", "$id")}
    assert event == expected


def test_openapi_lists_every_route_with_its_security(client: TestClient) -> None:
    """Every GET/POST route is described; /v1/stats ones need the bearer token and say why."""
    document = client.get("/openapi.json").json()
    app_paths = {
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and {"GET", "POST"} & set(route.methods or ())
    }
    assert set(document["paths"]) == app_paths
    assert {"/healthz", "/metrics", *ROUTE_PATHS} <= app_paths
    scheme = document["components"]["securitySchemes"]["adminToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path in ROUTE_PATHS:
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"adminToken": []}]
        assert {"200", "400", "401", "503"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} >= set(PARAMETERS)
    for path in ("/healthz", "/v1/event"):
        assert all("security" not in op for op in document["paths"][path].values())
    metrics = document["paths"]["/metrics"]["get"]
    assert metrics["security"] == [{"adminToken": []}, {"metricsToken": []}]
    assert "401" in metrics["responses"]


def test_openapi_stats_answers_are_the_query_layer_types(client: TestClient) -> None:
    """A stats answer's `data` is the JSON Schema of its query function's return type."""
    document = client.get("/openapi.json").json()
    overview = document["paths"]["/v1/stats/overview"]["get"]
    assert overview["summary"] == queries.overview.__doc__
    body = overview["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["properties"]["data"] == {"$ref": "#/components/schemas/Overview"}
    fields = document["components"]["schemas"]["Overview"]["properties"]
    assert set(fields) == {field.name for field in dataclasses.fields(Overview)}
    commands = document["paths"]["/v1/stats/commands"]["get"]["responses"]["200"]
    data = commands["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == {"type": "array", "items": {"$ref": "#/components/schemas/CommandUsage"}}
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == [PROMETHEUS_TYPE]


def test_a_flood_of_healthz_reaches_the_store_about_once_a_second(client: TestClient) -> None:
    """/healthz answers from the store's last ping: 300 requests do not send 300 pings."""
    health = client.app.state.health  # type: ignore[attr-defined]
    before = health.pings
    for _ in range(300):
        assert client.get("/healthz").status_code == 200
    assert health.pings - before < 30  # one per HEALTH_TTL_S, however fast they came


def test_healthz_reports_a_store_that_stopped_answering(
    make_client: Callable[..., TestClient], store: Store
) -> None:
    """Once the store fails, /healthz says so (503) after at most its cache time."""
    from candor.server.http.observability import StoreHealth

    client = make_client()
    client.app.state.health = StoreHealth(store, ttl_s=0)  # type: ignore[attr-defined]
    assert client.get("/healthz").status_code == 200
    store.close()
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["error"] == "store_unavailable"


def test_metrics_need_a_token(make_client: Callable[..., TestClient]) -> None:
    """/metrics is 401 without a token; the admin or the metrics token opens it."""
    client = make_client({"CANDOR_METRICS_TOKEN": "scraper-token"})
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert "candor_events_accepted_total" not in missing.text
    assert client.get("/metrics", headers=bearer("wrong")).status_code == 401
    for token in (TEST_TOKEN, "scraper-token"):
        answer = client.get("/metrics", headers=bearer(token))
        assert answer.status_code == 200
        assert "candor_events_accepted_total" in answer.text


def test_the_metrics_token_opens_nothing_else(make_client: Callable[..., TestClient]) -> None:
    """The scraper's token reads /metrics only, never an aggregate of /v1/stats."""
    client = make_client({"CANDOR_METRICS_TOKEN": "scraper-token"})
    assert client.get("/v1/stats/overview", headers=bearer("scraper-token")).status_code == 401


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
