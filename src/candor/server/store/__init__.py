"""The store's writer: how accepted events reach the store, and the store's own process.

- `committer`: the `Committer` interface every write path implements, and `Pending`, the
  requests waiting for their commit.
- `group_commit`: the group-commit loop, written once, that every write path runs.
- `wire`: the one protocol between the collector and its store process.
- `collector_end`: the collector's end, `StoreProcess` (a Store) and its `StreamCommitter`.
- `process_end`: the store process's end (`python -m candor.server.store.process_end`).
- `local`: `LocalCommitter`, the same loop in a thread, for a store opened in this process.
"""
