"""GET /healthz and GET /metrics: how operators and their tools see the collector.

Both are public, like the ingest endpoint: they say whether the collector works and how busy
it is, never what it collected (that is /v1/stats, behind the admin token).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from candor.server.errors import error_response
from candor.server.openapi import error, json_content, operation
from candor.storage.base import StoreError

if TYPE_CHECKING:
    from starlette.requests import Request

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HEALTHY = {"status": "ok", "store": "ok"}


@operation(
    responses={
        "200": {
            "description": "The process and the store answer",
            "content": json_content(
                {
                    "type": "object",
                    "properties": {key: {"const": value} for key, value in HEALTHY.items()},
                }
            ),
        },
        "503": error("The store does not answer"),
    }
)
async def healthz(request: Request) -> Response:
    """Liveness: 200 when the process answers and the store answers a trivial query, else 503."""
    try:
        await asyncio.to_thread(request.app.state.store.ping)
    except StoreError as problem:
        return error_response(503, "store_unavailable", str(problem))
    return JSONResponse(HEALTHY)


@operation(
    responses={
        "200": {
            "description": "Counters and histograms",
            "content": {PROMETHEUS_TYPE: {"schema": {"type": "string"}}},
        }
    }
)
async def metrics(request: Request) -> Response:
    """The counters and histograms of candor.server.metrics, in Prometheus text format."""
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS_TYPE)
