"""Stateless collectors on one ClickHouse: `candor serve --store clickhouse://…` processes.

- Two collectors share one server: a batch retried through the other collector (the same
  Idempotency-Key) is answered as the first time and counted once.
- ClickHouse stopped under load: 503 with Retry-After, never a 2xx for an unstored event;
  once it is back, the real `your-cli`'s queued events arrive, none twice.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from candor.client.spool import Spool, read_state
from candor.storage import open_store
from tests.client.delivery.harness import expire_backoff
from tests.e2e.test_client_to_store import prepare_user
from tests.support.cli import ENDPOINT_VARIABLE, PLATFORM_DIR, run_cli, spooled_events
from tests.support.clickhouse import ClickHouseServer, skip_reason
from tests.support.collector import Collector, start_collector
from tests.support.load import Load, make_event

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

WAIT_S = 60.0


def serve(tmp_path: Path, url: str, name: str) -> Collector:
    return start_collector(tmp_path, extra_args=("--store", url), name=name)


def stored_ids(url: str) -> list[str]:
    store = open_store(url)
    try:
        return [str(r[0]) for r in store.query("SELECT installation_id FROM events")]  # type: ignore[attr-defined]
    finally:
        store.close()


def test_a_batch_retried_through_another_collector_counts_once(
    tmp_path: Path, clickhouse_url: str
) -> None:
    """Batches go through both collectors; one is retried through the other with its key."""
    one, two = serve(tmp_path, clickhouse_url, "one"), serve(tmp_path, clickhouse_url, "two")
    try:
        sent: list[dict[str, object]] = []
        with httpx.Client(timeout=30) as client:
            for n in range(6):
                batch = [make_event() for _ in range(50)]
                sent += batch
                target = (one, two)[n % 2]
                answer = client.post(
                    target.event_url, json=batch, headers={"Idempotency-Key": f"b{n}"}
                )
                assert answer.status_code == 202, answer.text
            retried = [make_event() for _ in range(30)]
            sent += retried
            key = {"Idempotency-Key": f"retry-{uuid.uuid4().hex}"}
            first = client.post(one.event_url, json=retried, headers=key)
            again = client.post(two.event_url, json=retried, headers=key)
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json()
        assert again.headers.get("Idempotent-Replayed") == "true"
    finally:
        one.stop()
        two.stop()
    stored = stored_ids(clickhouse_url)
    assert sorted(stored) == sorted(str(e["installation_id"]) for e in sent)  # each once


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ClickHouseServer]:
    """A server this test may stop and start again (same ports, same data)."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    server = ClickHouseServer(tmp_path / "clickhouse").start()
    try:
        yield server
    finally:
        server.stop()


def test_clickhouse_down_under_load_is_503_and_loses_nothing(
    tmp_path: Path, home: Path, own_server: ClickHouseServer
) -> None:
    url = own_server.url("candor")
    collector = serve(tmp_path, url, "collector")
    try:
        load = Load(collector.event_url, threads=6, max_batch=20)
        load.start()
        load.wait_for(acknowledged=300)
        own_server.stop()  # mid-load
        deadline = time.monotonic() + WAIT_S
        while load.answers.get(503, 0) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling interval
        load.join()
        assert load.answers.get(503, 0) >= 5, load.answers
        assert set(load.answers) <= {202, 503}, load.answers

        # The client's view: an answer with Retry-After, and its events stay queued.
        down = httpx.post(collector.event_url, json=[make_event()], timeout=30)
        assert down.status_code == 503
        assert int(down.headers["Retry-After"]) > 0
        installation_id, project = prepare_user(home)
        env = {ENDPOINT_VARIABLE: collector.event_url}
        for _ in range(3):
            assert run_cli("build", home=home, env=env, cwd=project).returncode == 0
        spool = Spool(home / PLATFORM_DIR)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not read_state(spool.state_path).get("failures"):
            time.sleep(0.1)  # the detached sender's attempt: polling its persisted state
        assert len(spooled_events(home)) == 3

        own_server.start()  # back: the same data directory and ports
        expire_backoff(spool)  # as if the client's backoff had run out
        assert run_cli("build", home=home, env=env, cwd=project).returncode == 0
        deadline = time.monotonic() + WAIT_S
        while spooled_events(home) and time.monotonic() < deadline:
            time.sleep(0.1)  # the sender delivers in the background
        assert spooled_events(home) == []
    finally:
        collector.stop()
    stored = stored_ids(url)
    assert len(stored) == len(set(stored)) + 3  # the CLI's 4 events share one installation
    assert stored.count(installation_id) == 4  # 3 queued while down + 1 after: none twice
    others = set(stored) - {installation_id}
    assert load.acknowledged <= others  # every 2xx is stored
    assert others <= load.sent
    assert "Traceback" not in collector.log_text()


def test_requests_arriving_within_a_second_share_one_insert(
    tmp_path: Path, clickhouse_url: str
) -> None:
    """ClickHouse wants few, large inserts: 40 single-event requests arriving over half a
    second are committed together (the store's batching: a second, or 10,000 events), and
    each still gets its 202 only after that commit."""
    import re
    import threading

    collector = serve(tmp_path, clickhouse_url, "collector")
    answers: list[int] = []
    try:

        def post(delay: float) -> None:
            time.sleep(delay)  # spreads the arrivals over half a second (load shape, not sync)
            with httpx.Client(timeout=30) as client:
                answers.append(client.post(collector.event_url, json=make_event()).status_code)

        threads = [threading.Thread(target=post, args=(n * 0.0125,)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        metrics = httpx.get(
            f"{collector.url}/metrics",
            headers={"Authorization": f"Bearer {collector.admin_token}"},
            timeout=30,
        ).text
    finally:
        collector.stop()
    assert answers == [202] * 40
    assert "candor_commit_requests_count" in metrics, metrics[:500]
    commits = int(re.search(r"^candor_commit_requests_count (\d+)", metrics, re.M).group(1))  # type: ignore[union-attr]
    assert commits <= 2, f"{commits} commits for 40 requests"
    assert len(stored_ids(clickhouse_url)) == 40


def test_a_hung_clickhouse_is_a_503_not_a_hang(
    tmp_path: Path, own_server: ClickHouseServer
) -> None:
    """ClickHouse stops answering (SIGSTOP): the request gets 503 with Retry-After once the
    URL's statement timeout (here 2 s) has passed, never a 2xx and never a hang; when it
    answers again, so does the collector."""
    import os
    import signal

    url = own_server.url("hung") + "?timeout=2"
    collector = serve(tmp_path, url, "collector")
    assert own_server.process is not None
    try:
        # 10 s: the 2 s statement timeout and the 1 s group, with room for a loaded machine;
        # a collector that waited on ClickHouse any longer would fail this.
        with httpx.Client(timeout=10) as client:
            assert client.post(collector.event_url, json=[make_event()]).status_code == 202
            os.kill(own_server.process.pid, signal.SIGSTOP)
            try:
                stuck = client.post(collector.event_url, json=[make_event()])
            finally:
                os.kill(own_server.process.pid, signal.SIGCONT)
            assert stuck.status_code == 503, stuck.text
            assert int(stuck.headers["Retry-After"]) > 0
            assert "ClickHouse" in stuck.json()["message"]
            assert client.post(collector.event_url, json=[make_event()]).status_code == 202
    finally:
        collector.stop()
