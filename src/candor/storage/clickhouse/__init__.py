"""The ClickHouse store: `--store clickhouse://USER:PASSWORD@HOST:PORT/DATABASE` (TLS:
`clickhouses://`), or ClickHouse's engine in process with `chdb:///PATH`.

Modules: `url` (what a store URL names), `connection` (the native driver or chDB behind one
interface), `schema` (DDL for the server's version, single node or cluster), `questions` (the
analytics in ClickHouse SQL), `store` (the contract: commits, idempotency, retention).
Needs the extra `candor[clickhouse]` (clickhouse-driver); chDB is in the dev extra.
"""

from candor.storage.clickhouse.store import ClickHouseStore

__all__ = ["ClickHouseStore"]
