"""`GET /`: the dashboard page, and `/static/…`: its script, styles and the vendored chart library.

The page is a shell with no data in it: its script asks for the admin token, keeps it in the
tab's sessionStorage and fetches `/v1/stats/*` with it (see `candor.server.http.auth`).
Everything it loads comes from this collector: the Content-Security-Policy allows no other
origin, so a dashboard can neither fetch a script from a CDN nor send a number anywhere else.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from candor.server.http.route_docs import operation

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.routing import BaseRoute

HERE = Path(__file__).parents[1]  # candor/server, beside the store and runtime groups
TEMPLATE = HERE / "templates" / "dashboard.html"
STATIC = HERE / "static"
CHART_LIBRARY = "chart-4.6.1.umd.min.js"  # Chart.js 4.6.1 from npm, MIT (chart-4.6.1.LICENSE.md)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@functools.cache
def page() -> str:
    """The dashboard's HTML, read once."""
    return TEMPLATE.read_text(encoding="utf-8").replace("{{chart_library}}", CHART_LIBRARY)


@operation(responses={"200": {"description": "The page", "content": {"text/html": {}}}})
def index(request: Request) -> HTMLResponse:
    """The dashboard shell; public, because it holds no data."""
    return HTMLResponse(page(), headers=SECURITY_HEADERS)


def routes() -> list[BaseRoute]:
    """`/` and `/static`."""
    return [
        Route("/", index, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
