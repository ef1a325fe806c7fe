"""Every error the collector answers with, and the one place that turns them into JSON.

Error tree::

    CollectorError          4xx/5xx with {"error": code, "message": text}
    ├── MalformedBody       400  not JSON, not an event or array, bad gzip, bad header
    ├── PayloadTooLarge     413  body over MAX_BODY_BYTES (after gzip) or too many events
    ├── UnsupportedMedia    415  not application/json, or an encoding other than gzip
    ├── RateLimited         429  with Retry-After
    └── Unavailable         503  the store cannot commit, or the collector is stopping

Bad input is always one of the 4xx above. Anything else that escapes a handler is a bug: the
client gets a JSON 500 with no detail, and the traceback goes to the log (which never holds
a client address, see candor.server.runtime.logs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request
    from starlette.types import ExceptionHandler


class CollectorError(Exception):
    """An answer other than 2xx, with a readable one-line message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class MalformedBody(CollectorError):
    status, code = 400, "malformed_request"


class PayloadTooLarge(CollectorError):
    status, code = 413, "payload_too_large"


class UnsupportedMedia(CollectorError):
    status, code = 415, "unsupported_media_type"


class RateLimited(CollectorError):
    status, code = 429, "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many requests from this address; retry in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


class Unavailable(CollectorError):
    status, code = 503, "unavailable"


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON body every error has: {"error": code, "message": text}."""
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


async def _collector_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CollectorError)
    return error_response(error.status, error.code, error.message, error.headers)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    # Starlette's own 404 (no route) and 405 (wrong method), in the same JSON shape.
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return error_response(error.status_code, code, str(error.detail), error.headers)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    # A bug, not bad input: say nothing about it to the client; the log has the traceback.
    return error_response(500, "internal_error", "internal error; the collector logged it")


def exception_handlers() -> dict[object, ExceptionHandler]:
    """The handlers to register once, in create_app."""
    return {
        CollectorError: _collector_error,
        HTTPException: _http_error,
        Exception: _internal_error,
    }
