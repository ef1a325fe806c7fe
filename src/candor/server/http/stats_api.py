"""`GET /v1/stats/…`: the query layer's answers as JSON, for the dashboard and for scripts.

Read-only and admin-only (`candor.server.http.auth`). Every route takes the same query parameters:

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
from candor.analytics.publish.marks import public_marks
from candor.server.http.auth import NO_STORE, admin_only
from candor.server.http.errors import error_response
from candor.server.http.stats_parameters import FILTER_PARAMETERS, RANGE_PARAMETERS, check
from candor.storage.base import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from candor.analytics.filters import TimeRange

PREFIX = "/v1/stats"


def parse_query(request: Request, extra: tuple[str, ...] = ()) -> tuple[TimeRange, Filters]:
    """The range and filters a request asks for; QueryError on anything unknown or invalid."""
    params = request.query_params
    unknown = sorted(set(params) - {*RANGE_PARAMETERS, *FILTER_PARAMETERS, *extra})
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0]!r}")
    for name, value in params.multi_items():
        if len(params.getlist(name)) > 1:
            raise QueryError(f"parameter {name!r} given more than once")
        check(name, value)
    time_range = parse_range(
        since=params.get("since"), start=params.get("from"), end=params.get("to")
    )
    filters = Filters(
        cli_version=params.get("cli_version"),
        os_arch=params.get("os_arch"),
        command=params.get("command"),
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


def _public(request: Request, time_range: TimeRange, filters: Filters) -> object:
    return public_marks(request.app.state.store, time_range, filters)


def routes() -> list[BaseRoute]:
    """`/v1/stats/<section>` for each section, `/dimensions`, `/summary` (all sections) and
    `/public` (what `candor publish` would hide)."""
    table: list[BaseRoute] = [
        StatsRoute(f"{PREFIX}/{name}", _section(name), getattr(queries, name))
        for name in queries.SECTIONS
    ]
    table.append(StatsRoute(f"{PREFIX}/dimensions", _dimensions, queries.dimensions))
    table.append(StatsRoute(f"{PREFIX}/summary", _summary, queries.summary, ("sections",)))
    table.append(StatsRoute(f"{PREFIX}/public", _public, public_marks))
    return table


ROUTE_PATHS = tuple(
    f"{PREFIX}/{name}" for name in (*queries.SECTIONS, "dimensions", "summary", "public")
)
