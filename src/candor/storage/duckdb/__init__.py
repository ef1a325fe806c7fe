"""The embedded default store: one DuckDB file (`store`), its rollups, its idempotency key
filter, its memory budget, and the analytics questions and synthetic data in its SQL."""

from candor.storage.duckdb.store import DuckDBStore

__all__ = ["DuckDBStore"]
