"""The collector (extra [server]), in three groups: `http` (the HTTP surface), `store` (the
store's writer and its own process) and `runtime` (settings, logs, metrics, housekeeping, the
HTTP protocol's bounds); `static` and `templates` hold the dashboard's files."""
