"""What an endpoint says about itself for the OpenAPI document: a leaf that imports nothing of ours.

Endpoints (observability, dashboard, openapi itself) decorate themselves with `@operation` to
state what their code cannot show (media types, error statuses, security), using the small
helpers below; `candor.server.http.openapi` builds the document from the route table and reads
these back with `documented`. So the document builder sits above what it describes, and no
endpoint imports it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

REF = "#/components/schemas/{name}"
ADMIN_SCHEME = "adminToken"
METRICS_SCHEME = "metricsToken"

_OPERATIONS: weakref.WeakKeyDictionary[Callable[..., Any], dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)


def operation(**fields: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an endpoint with OpenAPI operation fields its code cannot show (`responses`)."""

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        _OPERATIONS[endpoint] = fields
        return endpoint

    return register


def documented(endpoint: Callable[..., Any]) -> dict[str, Any]:
    """The fields `endpoint` declared with `@operation` (none: {})."""
    try:
        return _OPERATIONS.get(endpoint, {})
    except TypeError:  # not weakly referenceable, so never registered
        return {}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    """`content` of a JSON body with `schema`."""
    return {"application/json": {"schema": schema}}


def error(description: str) -> dict[str, Any]:
    """A response whose body is the collector's JSON error (candor.server.http.errors)."""
    return {"description": description, "content": json_content({"$ref": REF.format(name="Error")})}
