"""/openapi.json states what the collector enforces: a value it documents is a value it takes.

Each probe value is judged twice, by the published JSON Schema (jsonschema-rs, formats on) and
by the running app; both must agree, so a client generated from the document sends only what
is accepted, and what the document refuses is refused.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import pytest

from candor.analytics import queries
from candor.server.http.stats_api import ROUTE_PATHS
from tests.server.conftest import TEST_TOKEN
from tests.support.load import make_event

if TYPE_CHECKING:
    from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
EVERY_SECTION = ",".join(queries.SECTIONS)
DATES = [
    "2025-01-31", "2024-02-29", "2025-02-29", "2025-02-30", "2025-13-01", "20250131",
    "2025-1-31", "2025-W05-1", "1969-12-31", "1970-01-01", "9998-12-31", "9999-12-31",
    "0001-01-01", "", " 2025-01-31", "2025-01-31\n", "２０２５-01-31",
]  # fmt: skip
PROBES: dict[str, list[str]] = {
    "since": [
        "7d", "4w", "1d", "3660d", "3661d", "0d", "522w", "523w", "07d", "7D", " 7d", "7d\n",
        "", "yesterday", "99999d", "٧d",
    ],
    "from": DATES,
    "to": DATES,
    "cli_version": ["0.2.1", "", "x" * 32, "x" * 33, "-1", "1.0\n", "1.0 beta"],
    "os_arch": ["linux-x86_64", "macos-aarch64", "linux-amd64", "", "Linux-x86_64"],
    "command": ["build", "config set", "Build", "build\n", "", "config  set", "x" * 65],
    "interactive": ["true", "false", "any", "ci", "1", "TRUE", "", "maybe", " true"],
    "sections": [
        EVERY_SECTION, "overview", "errors,overview,errors", "", "overview,", ",", "nope",
        "overview,nope", "Overview", "overview," * 40 + "overview",
    ],
}  # fmt: skip


def validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def parameter_schemas(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    operation = document["paths"][path]["get"]
    return {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as served (read through a throwaway app: it depends on no data)."""
    from starlette.testclient import TestClient

    from candor.server.http.app import create_app
    from candor.server.runtime.settings import Settings
    from candor.storage import open_store

    store = open_store(str(tmp_path_factory.mktemp("openapi") / "events.duckdb"))
    try:
        with TestClient(create_app(Settings(), store)) as client:
            served: dict[str, Any] = client.get("/openapi.json").json()
            return served
    finally:
        store.close()


def test_every_stats_route_documents_the_same_parameters(document: dict[str, Any]) -> None:
    """All stats routes share one schema per parameter, so probing one route covers them."""
    summary = parameter_schemas(document, "/v1/stats/summary")
    for path in ROUTE_PATHS:
        for name, schema in parameter_schemas(document, path).items():
            assert schema == summary[name], (path, name)
    assert set(summary) == set(PROBES)


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in PROBES.items() for value in values]
)
def test_a_parameter_value_is_accepted_exactly_when_documented(
    client: TestClient, document: dict[str, Any], name: str, value: str
) -> None:
    """The stats API takes a value if and only if the document's schema for it allows it."""
    documented = validator(parameter_schemas(document, "/v1/stats/summary")[name]).is_valid(value)
    # `from` alone would span up to today; with `to` on the same day it is one valid day.
    params = {name: value, "to": value} if name == "from" else {name: value}
    answer = client.get("/v1/stats/summary", params=params, headers=AUTH)
    assert answer.status_code in (200, 400), answer.text
    assert (answer.status_code == 200) == documented, (documented, answer.text)


def test_every_documented_content_encoding_is_accepted(
    client: TestClient, document: dict[str, Any]
) -> None:
    """A Content-Encoding the document lists is taken with a body the document describes."""
    post = document["paths"]["/v1/event"]["post"]
    (encoding,) = (p for p in post["parameters"] if p["name"] == "Content-Encoding")
    body = json.dumps(make_event()).encode()
    for value in encoding["schema"]["enum"]:
        answer = client.post(
            "/v1/event",
            content=body,
            headers={"content-type": "application/json", "content-encoding": value},
        )
        assert answer.status_code == 202, (value, answer.text)
    assert "gzip" in encoding["description"]  # still said in words: gzip bodies are welcome


@pytest.mark.parametrize(
    "key", ["abc", "a" * 255, "a" * 256, "", "has space", "k:1.2_3-4", "a/b", "x\t"]
)
def test_an_idempotency_key_is_accepted_exactly_when_documented(
    client: TestClient, document: dict[str, Any], key: str
) -> None:
    """The Idempotency-Key header is refused (400) exactly when its documented schema refuses it."""
    post = document["paths"]["/v1/event"]["post"]
    (header,) = (p for p in post["parameters"] if p["name"] == "Idempotency-Key")
    documented = validator(header["schema"]).is_valid(key)
    answer = client.post(
        "/v1/event",
        content=json.dumps(make_event()).encode(),
        headers={"content-type": "application/json", "idempotency-key": key},
    )
    assert answer.status_code in (202, 400), answer.text
    assert (answer.status_code == 202) == documented, answer.text
