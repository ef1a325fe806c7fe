"""GET /healthz, GET /metrics and GET /openapi.json: how operators and tools see the collector.

The OpenAPI document is built from `candor.schema` like everything else, so the endpoint's
description cannot drift from what it validates.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from candor import __version__
from candor.schema import EVENT_PATH, MAX_BATCH_EVENTS, MAX_BODY_BYTES, json_schema
from candor.server.errors import error_response
from candor.server.idempotency import MAX_KEY_LENGTH
from candor.storage.base import IDEMPOTENCY_KEY_PATTERN, StoreError

if TYPE_CHECKING:
    from starlette.requests import Request

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def healthz(request: Request) -> Response:
    """200 when the process answers and the store answers a trivial query, else 503."""
    try:
        await asyncio.to_thread(request.app.state.store.ping)
    except StoreError as error:
        return error_response(503, "store_unavailable", str(error))
    return JSONResponse({"status": "ok", "store": "ok"})


async def metrics(request: Request) -> Response:
    """The counters and histograms of candor.server.metrics, in Prometheus text format."""
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS_TYPE)


async def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document of the collector's endpoints."""
    return JSONResponse(openapi_document())


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document() -> dict[str, Any]:
    """The document served at /openapi.json (OpenAPI 3.1, whose schemas are JSON Schema)."""
    event = {k: v for k, v in json_schema().items() if k not in ("$schema", "$id")}
    event_ref = {"$ref": "#/components/schemas/Event"}
    answer = {
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
    error = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    }
    post = {
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
                "name": "Content-Encoding",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "enum": ["gzip", "identity"]},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            event_ref,
                            {"type": "array", "maxItems": MAX_BATCH_EVENTS, "items": event_ref},
                        ]
                    }
                }
            },
        },
        "responses": {
            "202": {
                "description": "Stored (the accepted events), with per-event rejections",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}
                },
            },
            "400": _error("The body is not JSON, or not an event or an array of events"),
            "413": _error("The body or the number of events is over the limit"),
            "415": _error("Not application/json, or an encoding other than gzip"),
            "429": _error("Rate limited; see Retry-After"),
            "503": _error("The store cannot commit right now; retry later"),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Candor collector",
            "version": __version__,
            "description": "Anonymous usage telemetry from command-line tools.",
        },
        "paths": {
            EVENT_PATH: {"post": post},
            "/healthz": {
                "get": {
                    "summary": "Liveness and store reachability",
                    "responses": {"200": {"description": "OK"}, "503": _error("Store down")},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": {"Event": event, "Answer": answer, "Error": error}},
    }
