"""The collector's HTTP surface: the app, its routes and what they answer.

- `app`: `create_app`, the whole route table; `ingest` + `validation` + `idempotency` +
  `ratelimit`: POST /v1/event; `stats_api` + `stats_parameters`: GET /v1/stats/*;
  `dashboard`: GET / (its files are in ../static and ../templates); `observability`:
  /healthz, /metrics; `openapi`: /openapi.json, from the routes and `route_docs`.
- `auth`: the admin and metrics tokens; `errors`: every error answer, as JSON.
"""
