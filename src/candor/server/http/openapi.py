"""GET /openapi.json: the OpenAPI 3.1 document, built from the route table and the code behind it.

Nothing in it is copied by hand. The paths are the app's routes; an operation's summary and
description are its endpoint's docstring; POST /v1/event's body is the JSON Schema of
`candor.schema`; a /v1/stats answer is the JSON Schema of its query function's return type
(`candor.analytics.answers`, through msgspec) and its parameters are `stats_parameters`; an
endpoint made by `auth.admin_only` is marked as needing the admin token (HTTP bearer). What code
cannot tell (media types, error statuses) an endpoint states next to itself with `@operation`
(`candor.server.http.route_docs`, a leaf: no endpoint imports this module).
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.responses import JSONResponse
from starlette.routing import Route

from candor import __version__
from candor.analytics import answers, queries
from candor.analytics.publish.marks import PublicMarks
from candor.schema import EVENT_PATH, MAX_BATCH_EVENTS, MAX_BODY_BYTES, json_schema
from candor.server.http.auth import requires_admin
from candor.server.http.idempotency import MAX_KEY_LENGTH
from candor.server.http.route_docs import (
    ADMIN_SCHEME,
    METRICS_SCHEME,
    REF,
    documented,
    error,
    json_content,
    operation,
)
from candor.server.http.stats_api import StatsRoute
from candor.server.http.stats_parameters import PARAMETERS, SECTIONS
from candor.storage.base import IDEMPOTENCY_KEY_PATTERN, Store

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

DOCUMENTED_METHODS = ("GET", "POST")  # Starlette adds HEAD to every GET route: not listed


@operation(responses={"200": {"description": "This document", "content": json_content({})}})
async def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document of the collector's routes."""
    return JSONResponse(openapi_document(request.app.routes))


def openapi_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The document served at /openapi.json for an app with `routes`."""
    answer_types = _answer_types()
    schemas, components = msgspec.json.schema_components(answer_types.values(), ref_template=REF)
    data = dict(zip(answer_types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue  # a mount (/static): files, not operations
        methods = [method for method in DOCUMENTED_METHODS if method in (route.methods or ())]
        for method in methods:
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, data)
    components.update(
        Event={k: v for k, v in json_schema().items() if k not in ("$schema", "$id")},
        Answer=_answer_schema(),
        Error={
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        },
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Candor collector",
            "version": __version__,
            "description": "Anonymous usage telemetry from command-line tools.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                ADMIN_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "CANDOR_ADMIN_TOKEN, or the token candor serve printed",
                },
                METRICS_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "CANDOR_METRICS_TOKEN (or --metrics-token): /metrics only",
                },
            },
        },
    }


def _operation(route: Route, data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if route.path == EVENT_PATH:
        return _post_events()
    summary, _, description = (route.endpoint.__doc__ or route.path).strip().partition("\n")
    if isinstance(route, StatsRoute):
        summary, _, description = (route.answers.__doc__ or summary).strip().partition("\n")
    found: dict[str, Any] = {"summary": summary.strip()}
    if description.strip():
        found["description"] = " ".join(description.split())
    if isinstance(route, StatsRoute):
        found |= _stats_operation(route, data)
    found |= documented(route.endpoint)
    found.setdefault("responses", {"200": {"description": "OK"}})
    if requires_admin(route.endpoint):
        found["security"] = [{ADMIN_SCHEME: []}]
        found["responses"] = {**found["responses"], "401": error("Missing or wrong admin token")}
    return found


def _answer_types() -> dict[str, Any]:
    """Each stats route's name → the type of its `data` (its query function's return type)."""
    names = (*queries.SECTIONS, "dimensions")
    types = {
        name: typing.get_type_hints(getattr(queries, name), localns={"Store": Store})["return"]
        for name in names
    }
    return {**types, "public": PublicMarks}  # what `candor publish` would hide


def _stats_operation(route: StatsRoute, data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    name = route.path.rsplit("/", 1)[1]
    if name in data:
        payload = data[name]
    else:  # summary: the sections asked for, each as its own route answers it
        payload = {
            "type": "object",
            "properties": {section: data[section] for section in queries.SECTIONS},
        }
    table = {**PARAMETERS, "sections": SECTIONS}
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": table[name].description,
                "schema": table[name].schema,
            }
            for name in route.parameters
        ],
        "responses": {
            "200": {
                "description": "The answer, with the range and filters it is about",
                "content": json_content(_envelope(payload)),
            },
            "400": error("A parameter is unknown, repeated or invalid"),
            "503": error("The store cannot answer right now"),
        },
    }


def _envelope(payload: dict[str, Any]) -> dict[str, Any]:
    """The schema of `answers.envelope(range, filters, data)` around `payload`."""
    return {
        "type": "object",
        "required": ["range", "filters", "percentile_method", "distinct_method", "data"],
        "properties": {
            "range": {
                "type": "object",
                "properties": {
                    "start": {"type": "string", "format": "date"},
                    "end": {"type": "string", "format": "date"},
                    "days": {"type": "integer", "minimum": 1},
                },
            },
            "filters": {
                "type": "object",
                "additionalProperties": {"type": ["string", "boolean", "null"]},
            },
            "percentile_method": {"const": answers.PERCENTILE_METHOD},
            "distinct_method": {"const": answers.DISTINCT_METHOD},
            "data": payload,
        },
    }


def _answer_schema() -> dict[str, Any]:
    """The 202 body of POST /v1/event (`validation.Checked.answer`)."""
    return {
        "type": "object",
        "required": ["accepted", "rejected", "errors"],
        "additionalProperties": False,
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "rejected": {"type": "integer", "minimum": 0},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "reason"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
    }


def _post_events() -> dict[str, Any]:
    event_ref = {"$ref": REF.format(name="Event")}
    return {
        "summary": "Submit telemetry events",
        "description": (
            f"One event object, or a JSON array of up to {MAX_BATCH_EVENTS} events; the body "
            f"is at most {MAX_BODY_BYTES} bytes after any gzip decoding. Each event is "
            "validated on its own: the 202 answer counts accepted and rejected events and "
            "gives each rejected one's index and reason. The answer is sent once the accepted "
            "events are committed."
        ),
        "operationId": "postEvents",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A retry with a key seen in the last 24 hours is answered as "
                "before and stores nothing new.",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_KEY_LENGTH,
                    "pattern": f"^{IDEMPOTENCY_KEY_PATTERN}$",
                },
            },
            {
                # A schema cannot say "gzip only when the body is gzip data", so it lists only
                # what any body described here may carry; the words say the rest.
                "name": "Content-Encoding",
                "in": "header",
                "required": False,
                "description": "identity, or absent. A client may also send gzip, with the "
                "body gzip-compressed (the limits apply after decoding): a body that is not "
                "gzip data under gzip is a 400.",
                "schema": {"type": "string", "enum": ["identity"]},
            },
        ],
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "oneOf": [
                        event_ref,
                        {"type": "array", "maxItems": MAX_BATCH_EVENTS, "items": event_ref},
                    ]
                }
            ),
        },
        "responses": {
            "202": {
                "description": "Stored (the accepted events), with per-event rejections",
                "content": json_content({"$ref": REF.format(name="Answer")}),
            },
            "400": error("The body is not JSON, or not an event or an array of events"),
            "408": error("The headers or the body did not arrive in time; the connection closes"),
            "413": error("The body or the number of events is over the limit"),
            "415": error("Not application/json, or an encoding other than gzip"),
            "429": error("Rate limited; see Retry-After"),
            "503": error(
                "The store cannot commit right now, or the collector serves its limit of "
                "connections; retry after Retry-After"
            ),
        },
    }
