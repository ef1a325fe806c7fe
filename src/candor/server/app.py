"""`create_app(settings, store)`: the collector as one Starlette app, every route listed here."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Route

from candor.schema import EVENT_PATH
from candor.server import dashboard, maintenance, observability, stats_api
from candor.server.commit import GroupCommitter
from candor.server.errors import exception_handlers
from candor.server.ingest import IngestEndpoint
from candor.server.metrics import Metrics
from candor.server.ratelimit import RateLimiter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.routing import BaseRoute

    from candor.server.settings import Settings
    from candor.storage.base import Store


def create_app(settings: Settings, store: Store) -> Starlette:
    """The collector's ASGI app over an open `store` (which the caller closes).

    `app.state` holds `settings`, `store`, `metrics` and the group `committer`.
    """
    metrics = Metrics()
    committer = GroupCommitter(store, metrics, window_s=settings.commit_window_s)
    limiter = (
        RateLimiter(settings.rate_limit, settings.rate_burst) if settings.rate_limit > 0 else None
    )
    routes: list[BaseRoute] = [
        Route(EVENT_PATH, IngestEndpoint(committer, metrics, limiter), methods=["POST"]),
        Route("/healthz", observability.healthz, methods=["GET"]),
        Route("/metrics", observability.metrics, methods=["GET"]),
        Route("/openapi.json", observability.openapi, methods=["GET"]),
        *stats_api.routes(),
        *dashboard.routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await committer.start()
        housekeeping = asyncio.create_task(
            maintenance.run_forever(store, settings.retention), name="candor-maintenance"
        )
        try:
            yield
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            # Requests still waiting were acknowledged to nobody yet: commit them, then stop.
            await committer.stop()

    app = Starlette(routes=routes, exception_handlers=exception_handlers(), lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.metrics = metrics
    app.state.committer = committer
    return app
