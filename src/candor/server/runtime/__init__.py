"""What runs the collector around its HTTP surface: settings, logs, metrics, housekeeping.

- `settings`: `Settings`, read once from flags and the environment; `logs`: stderr logging with
  every address redacted; `metrics`: the counters behind /metrics; `maintenance`: the daily
  prune; `http_protocol`: uvicorn's protocol with bounded headers, pipelining and header time.
"""
