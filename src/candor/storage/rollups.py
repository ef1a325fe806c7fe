"""Pre-aggregated tables the analytics read, kept up to date in the same transaction as the insert.

The store calls `create(con)` when it opens a database and `update(con, relation)` inside each
commit, where `relation` names a table or view holding exactly the rows just inserted.
Issue #5 (analytics) defines the tables; until then there are none to maintain.
"""

from __future__ import annotations

from typing import Any


def create(con: Any) -> None:
    """Create the rollup tables if they are missing (and backfill them from `events`)."""


def update(con: Any, relation: str) -> None:
    """Fold the rows of `relation` (just inserted into `events`) into the rollup tables."""
