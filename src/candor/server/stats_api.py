"""`GET /v1/stats/…`: the query layer's answers as JSON, for the dashboard and for scripts.

Read-only and admin-only (`candor.server.auth`). Every route takes the same query parameters:

    since=7d | 4w            the last N days, today (UTC) included (default 30d), or
    from=YYYY-MM-DD&to=…     an explicit range of whole UTC days
    cli_version, os_arch, command, interactive=true|false     optional filters

and answers `{"range", "filters", "percentile_method", "distinct_method", "data"}`. Bad
parameters are a 400 with the reason; an unreachable store a 503. Routes are thin: the
arithmetic lives in `candor.analytics.queries`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from candor.analytics import queries
from candor.analytics.answers import envelope
from candor.analytics.filters import Filters, QueryError, parse_interactive, parse_range
from candor.server.auth import NO_STORE, admin_only
from candor.server.errors import error_response
from candor.storage.base import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from candor.analytics.filters import TimeRange

PREFIX = "/v1/stats"
# Every query parameter and what it means: parse_query accepts exactly these, and the
# OpenAPI document (candor.server.observability) describes them from here.
PARAMETERS = {
    "since": "the last N days (7d) or weeks (4w), today (UTC) included; default 30d",
    "from": "the first UTC day (YYYY-MM-DD) of an explicit range; with `to`",
    "to": "the last UTC day (YYYY-MM-DD) of an explicit range; with `from`",
    "cli_version": "only events of this cli_version",
    "os_arch": "only events of this os_arch",
    "command": "only events of this command",
    "interactive": "true: interactive runs only; false: scripts and CI only",
}
RANGE_PARAMETERS = ("since", "from", "to")
FILTER_PARAMETERS = ("cli_version", "os_arch", "command", "interactive")
SECTIONS_PARAMETER = (
    "sections",
    f"a comma-separated subset of {', '.join(queries.SECTIONS)} (default: all)",
)
MAX_PARAMETER_LENGTH = 64  # longer than any valid filter value; refuses junk early
# `sections` may name every section, some more than once (answered once): room for that.
MAX_SECTIONS_LENGTH = 256


def parse_query(request: Request, extra: tuple[str, ...] = ()) -> tuple[TimeRange, Filters]:
    """The range and filters a request asks for; QueryError on anything unknown or invalid."""
    params = request.query_params
    unknown = sorted(set(params) - {*RANGE_PARAMETERS, *FILTER_PARAMETERS, *extra})
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0]!r}")
    for name, value in params.multi_items():
        if len(params.getlist(name)) > 1:
            raise QueryError(f"parameter {name!r} given more than once")
        limit = MAX_SECTIONS_LENGTH if name == SECTIONS_PARAMETER[0] else MAX_PARAMETER_LENGTH
        if len(value) > limit:
            raise QueryError(f"parameter {name!r} is too long")
    time_range = parse_range(
        since=params.get("since") or None,
        start=params.get("from") or None,
        end=params.get("to") or None,
    )
    filters = Filters(
        cli_version=params.get("cli_version") or None,
        os_arch=params.get("os_arch") or None,
        command=params.get("command") or None,
        interactive=parse_interactive(params.get("interactive")),
    )
    return time_range, filters


def answer(time_range: TimeRange, filters: Filters, data: object) -> Response:
    """The envelope every stats route answers with, marked as not to be cached."""
    return JSONResponse(envelope(time_range, filters, data), headers=NO_STORE)


def _endpoint(
    compute: Callable[[Request, TimeRange, Filters], object], extra: tuple[str, ...] = ()
) -> Callable[[Request], Response]:
    """A guarded endpoint computing `compute(request, range, filters)`, errors turned into JSON."""

    @admin_only
    def endpoint(request: Request) -> Response:
        try:
            time_range, filters = parse_query(request, extra)
            data = compute(request, time_range, filters)
        except QueryError as error:
            return error_response(400, "bad_query", str(error), headers=NO_STORE)
        except StoreError as error:
            return error_response(503, "unavailable", str(error), headers=NO_STORE)
        return answer(time_range, filters, data)

    return endpoint


class StatsRoute(Route):
    """A GET /v1/stats route, and what the OpenAPI document says about it."""

    def __init__(
        self,
        path: str,
        compute: Callable[[Request, TimeRange, Filters], object],
        answers: Callable[..., object],
        extra: tuple[str, ...] = (),
    ) -> None:
        super().__init__(path, _endpoint(compute, extra), methods=["GET"])
        self.answers = answers  # the query function: its docstring and return type
        self.parameters = (*RANGE_PARAMETERS, *FILTER_PARAMETERS, *extra)


def _section(name: str) -> Callable[[Request, TimeRange, Filters], object]:
    function = getattr(queries, name)
    return lambda request, time_range, filters: function(
        request.app.state.store, time_range, filters
    )


def parse_sections(text: str | None) -> tuple[str, ...]:
    """The sections `sections=a,b` asks for, in the asked order, each once; all when empty."""
    if not text:
        return queries.SECTIONS
    sections = tuple(dict.fromkeys(text.split(",")))
    for name in sections:
        if name not in queries.SECTIONS:
            raise QueryError(f"unknown section {name!r}; known: {', '.join(queries.SECTIONS)}")
    return sections


def _summary(request: Request, time_range: TimeRange, filters: Filters) -> object:
    sections = parse_sections(request.query_params.get("sections"))
    return queries.summary(request.app.state.store, time_range, filters, sections)


def _dimensions(request: Request, time_range: TimeRange, filters: Filters) -> object:
    return queries.dimensions(request.app.state.store, time_range)


def routes() -> list[BaseRoute]:
    """`/v1/stats/<section>` for each section, `/dimensions` and `/summary` (all sections)."""
    table: list[BaseRoute] = [
        StatsRoute(f"{PREFIX}/{name}", _section(name), getattr(queries, name))
        for name in queries.SECTIONS
    ]
    table.append(StatsRoute(f"{PREFIX}/dimensions", _dimensions, queries.dimensions))
    table.append(
        StatsRoute(f"{PREFIX}/summary", _summary, queries.summary, (SECTIONS_PARAMETER[0],))
    )
    return table


ROUTE_PATHS = tuple(f"{PREFIX}/{name}" for name in (*queries.SECTIONS, "dimensions", "summary"))
