"""The admin token that guards every aggregate: `/v1/stats/*` and, through it, the dashboard.

The ingest endpoint stays public and write-only; reading anything back needs
`Authorization: Bearer <token>`, where the token is `Settings.admin_token` (CANDOR_ADMIN_TOKEN,
or one generated and printed at start). /metrics, which shows how much the CLI is used, takes
the admin token too, or a token of its own for a Prometheus scraper (`Settings.metrics_token`,
CANDOR_METRICS_TOKEN or --metrics-token) that opens nothing else.

The dashboard page itself holds no data: it asks for
the token, keeps it in the tab's sessionStorage and sends it in that header, so the token never
appears in a URL, a log line or a cookie a cross-site request could ride on.

Tokens are compared with `hmac.compare_digest`, so the time taken says nothing about how much of
a guess was right.
"""

from __future__ import annotations

import functools
import hmac
import weakref
from typing import TYPE_CHECKING

from candor.server.http.errors import error_response

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request
    from starlette.responses import Response

SCHEME = "Bearer"
_GUARDED: weakref.WeakSet[Callable[..., object]] = weakref.WeakSet()  # made by admin_only
# Answers with data must not be kept by the browser or a proxy: the next reader may lack the token.
NO_STORE = {"Cache-Control": "no-store"}


def presented_token(request: Request) -> str | None:
    """The token in the request's `Authorization: Bearer …` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != SCHEME.lower() or not token.strip():
        return None
    return token.strip()


def is_admin(request: Request) -> bool:
    """True when the request carries the collector's admin token."""
    return _carries(request, request.app.state.settings.admin_token)


def may_read_metrics(request: Request) -> bool:
    """True when the request carries the metrics token (if one is set) or the admin token."""
    settings = request.app.state.settings
    return _carries(request, settings.metrics_token) or _carries(request, settings.admin_token)


def _carries(request: Request, expected: str | None) -> bool:
    presented = presented_token(request)
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


ADMIN_HINT = "CANDOR_ADMIN_TOKEN, or the one candor serve printed at start"
METRICS_HINT = f"the metrics token (CANDOR_METRICS_TOKEN), or the admin token: {ADMIN_HINT}"


def unauthorized(request: Request, which: str = "admin token", hint: str = ADMIN_HINT) -> Response:
    """401 JSON, saying whether the token was missing or wrong (never what it should be)."""
    reason = f"wrong {which}" if presented_token(request) else f"missing {which}"
    return error_response(
        401,
        "unauthorized",
        f"{reason}: send Authorization: Bearer <token> ({hint})",
        headers={"WWW-Authenticate": f'{SCHEME} realm="candor"', **NO_STORE},
    )


def admin_only(endpoint: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Decorate a (synchronous) endpoint so it answers only requests with the admin token.

    The check comes before anything else, parameter validation included: without the token
    even an error message says nothing about the data.
    """

    @functools.wraps(endpoint)
    def guarded(request: Request) -> Response:
        if not is_admin(request):
            return unauthorized(request)
        return endpoint(request)

    _GUARDED.add(guarded)
    return guarded


def requires_admin(endpoint: object) -> bool:
    """Whether `endpoint` was made by `admin_only` (the OpenAPI document says so)."""
    try:
        return endpoint in _GUARDED
    except TypeError:  # not weakly referenceable, so never added
        return False
