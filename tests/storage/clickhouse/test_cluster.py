"""A ClickHouse cluster: two server processes as two shards (replicated tables through a
ZooKeeper), behind Distributed tables that `candor serve --cluster NAME` creates."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from candor.storage import open_store
from tests.support.clickhouse import ClickHouseServer, ZooKeeper, skip_reason, zookeeper_skip_reason
from tests.support.collector import start_collector
from tests.support.load import make_event

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CLUSTER = "candor_test"


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ClickHouseServer]]:
    reason = skip_reason() or zookeeper_skip_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("cluster")
    zookeeper = ZooKeeper(root / "zookeeper").start()
    servers = [ClickHouseServer(root / f"shard{n}", zookeeper=zookeeper) for n in (1, 2)]
    for n, server in enumerate(servers, 1):
        server.cluster = (CLUSTER, [[s.tcp_port] for s in servers])
        server.macros = {"shard": f"0{n}", "replica": "r1"}
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop(timeout=3)  # replicated tables make a clean stop slow; nothing to keep
        zookeeper.stop()


def test_two_shards_behind_distributed_tables_count_exactly(
    tmp_path: Path, shards: list[ClickHouseServer]
) -> None:
    """Events sent through one collector spread over both shards; totals are exact, on the
    store and in the stats API, and a retried batch is still counted once."""
    url = shards[0].url("candor_cluster")
    collector = start_collector(tmp_path, extra_args=("--store", url, "--cluster", CLUSTER))
    sent: list[dict[str, object]] = []
    try:
        with httpx.Client(timeout=30) as client:
            for n in range(8):
                batch = [make_event(command=("build", "deploy")[n % 2]) for _ in range(60)]
                sent += batch
                key = {"Idempotency-Key": f"cluster-{n}"}
                assert client.post(collector.event_url, json=batch, headers=key).status_code == 202
            again = client.post(collector.event_url, json=batch, headers=key)
            assert again.headers.get("Idempotent-Replayed") == "true"
            overview = client.get(
                f"{collector.url}/v1/stats/overview",
                params={"since": "1d"},
                headers={"Authorization": f"Bearer {collector.admin_token}"},
            )
    finally:
        collector.stop()
    assert overview.status_code == 200, overview.text
    data = overview.json()["data"]
    assert (data["events"], data["installations"]) == (len(sent), len(sent))

    per_shard = [
        int(server.http("SELECT count() FROM candor_cluster.events_local").strip())
        for server in shards
    ]
    assert sum(per_shard) == len(sent) and all(per_shard), per_shard  # both shards hold rows
    engines = json.loads(
        shards[1].http(
            "SELECT groupArray(engine) AS e FROM system.tables "
            "WHERE database = 'candor_cluster' FORMAT JSONEachRow"
        )
    )["e"]
    assert engines.count("Distributed") == 3 and engines.count("ReplicatedMergeTree") == 2
    store = open_store(shards[1].url("candor_cluster"))  # any node answers for all
    try:
        assert store.count() == len(sent)  # type: ignore[attr-defined]
    finally:
        store.close()
