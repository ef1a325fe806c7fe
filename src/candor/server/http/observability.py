"""GET /healthz and GET /metrics: how operators and their tools see the collector.

/healthz is public: it says whether the collector and its store work, and answers a flood of
itself from what the collector last learnt (`StoreHealth`), so that it never competes with the
analytics for the store. /metrics says how busy the collector is, which is how much the CLI is
used: it takes the admin token or the metrics token (`candor.server.http.auth`).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from candor.server.http.auth import METRICS_HINT, NO_STORE, may_read_metrics, unauthorized
from candor.server.http.errors import error_response
from candor.server.http.route_docs import (
    ADMIN_SCHEME,
    METRICS_SCHEME,
    error,
    json_content,
    operation,
)
from candor.storage.base import StoreError

if TYPE_CHECKING:
    from starlette.requests import Request

    from candor.storage.base import Store

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HEALTHY = {"status": "ok", "store": "ok"}
# How long a store check answers /healthz. The store process answers the analytics over a few
# connections, one question at a time each: a ping per /healthz (a flood of ~2 000 a second,
# no token needed) made the dashboard's summary take 2.4 s instead of 0.08 s.
HEALTH_TTL_S = 1.0


class StoreHealth:
    """The store's last answer to a ping: asked again at most every HEALTH_TTL_S, once at a time.

    Requests that arrive while a ping runs wait for that one instead of sending their own.
    """

    def __init__(self, store: Store, ttl_s: float = HEALTH_TTL_S) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._checked_at = -math.inf
        self._problem: str | None = None
        self._pending: asyncio.Future[str | None] | None = None
        self.pings = 0  # how many reached the store

    async def problem(self) -> str | None:
        """None when the store answers, else why not."""
        if time.monotonic() - self._checked_at < self._ttl_s:
            return self._problem
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._ping())
        return await asyncio.shield(self._pending)

    async def _ping(self) -> str | None:
        self.pings += 1
        try:
            await asyncio.to_thread(self._store.ping)
            problem = None
        except StoreError as error:
            problem = str(error)
        finally:
            self._pending = None
        self._problem, self._checked_at = problem, time.monotonic()
        return problem


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
    """Liveness: 200 when the process answers and the store did within the last second, else 503."""
    problem = await request.app.state.health.problem()
    if problem is not None:
        return error_response(503, "store_unavailable", problem)
    return JSONResponse(HEALTHY)


@operation(
    security=[{ADMIN_SCHEME: []}, {METRICS_SCHEME: []}],
    responses={
        "200": {
            "description": "Counters and histograms",
            "content": {PROMETHEUS_TYPE: {"schema": {"type": "string"}}},
        },
        "401": error("Missing or wrong token (the metrics token or the admin token)"),
    },
)
async def metrics(request: Request) -> Response:
    """The counters and histograms of candor.server.runtime.metrics, in Prometheus text format."""
    if not may_read_metrics(request):
        return unauthorized(request, "token", METRICS_HINT)
    return Response(
        request.app.state.metrics.render(), media_type=PROMETHEUS_TYPE, headers=NO_STORE
    )
