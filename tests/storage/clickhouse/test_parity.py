"""The same events through `candor serve` on DuckDB and on ClickHouse: the real `your-cli`
reports to both, and `candor report`, the stats API and the dashboard's data answer the same.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import httpx

from candor.schema import FIELD_NAMES
from candor.storage import open_store
from tests.e2e.test_client_to_store import prepare_user
from tests.storage.clickhouse.test_collectors import serve
from tests.support.cli import ENDPOINT_VARIABLE, run_cli, spooled_events
from tests.support.collector import CANDOR, start_collector
from tests.support.load import make_event

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.collector import Collector

DELIVERY_TIMEOUT_S = 60.0
# Varied events, so every section has rows: commands, versions, platforms, failures, CI runs.
SHAPES = [
    {"command": c, "cli_version": v, "os_arch": o, "duration_ms": d, "is_interactive": i}
    for c, v, o, d, i in (
        ("build", "1.0.0", "linux-x86_64", 120, True),
        ("build", "1.1.0", "macos-aarch64", 340, True),
        ("deploy", "1.1.0", "linux-x86_64", 2300, False),
        ("test", "1.0.0", "windows-x86_64", 870, True),
        ("config set", "1.1.0", "linux-aarch64", 15, False),
    )
]


def varied_batches() -> list[list[dict[str, object]]]:
    installations = [make_event()["installation_id"] for _ in range(7)]
    batches = []
    for n in range(6):
        batch = []
        for m in range(40):
            event = make_event(installation_id=installations[(n * 3 + m) % 7], **SHAPES[m % 5])
            event["duration_ms"] = int(event["duration_ms"]) + m * 7 + n
            if m % 6 == 0:
                event.update(status="failure", error_code=("boom", "timeout")[m % 2])
            batch.append(event)
        batches.append(batch)
    return batches


def deliver_from_your_cli(home: Path, collector: Collector, runs: int) -> str:
    """Run the real your-cli `runs` times against `collector`; wait until its spool is empty."""
    import time

    installation_id, project = prepare_user(home)
    env = {ENDPOINT_VARIABLE: collector.event_url}
    for _ in range(runs):
        assert run_cli("build", home=home, env=env, cwd=project).returncode == 0
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while spooled_events(home) and time.monotonic() < deadline:
        time.sleep(0.1)  # the detached sender delivers in the background
    assert spooled_events(home) == []
    return installation_id


def stored_events(url: str) -> list[dict[str, object]]:
    """The nine fields of every stored event, as the collector accepts them back."""
    store = open_store(url)
    try:
        rows = store.query(f"SELECT {', '.join(FIELD_NAMES)} FROM events")  # type: ignore[attr-defined]
    finally:
        store.close()
    events = [dict(zip(FIELD_NAMES, row, strict=True)) for row in rows]
    for event in events:
        event["is_interactive"] = bool(event["is_interactive"])
    return events


def stats(collector: Collector, path: str) -> object:
    answer = httpx.get(
        f"{collector.url}/v1/stats/{path}",
        params={"since": "7d"},
        headers={"Authorization": f"Bearer {collector.admin_token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def report(store: str, cwd: Path) -> object:
    done = subprocess.run(
        [CANDOR, "report", "--store", store, "--since", "7d", "--json"],
        capture_output=True, text=True, cwd=cwd, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_duckdb_and_clickhouse_answer_alike(tmp_path: Path, clickhouse_url: str) -> None:
    """Stats API (every section, and the filter menus), the dashboard page and `candor report
    --json` are equal, byte for byte, on DuckDB and on a ClickHouse 18.16 server."""
    duck_dir, click_dir = tmp_path / "duck", tmp_path / "click"
    duck_dir.mkdir()
    click_dir.mkdir()
    duck = start_collector(duck_dir)
    click = serve(click_dir, clickhouse_url, "collector")
    try:
        # The real your-cli reports to the ClickHouse collector; its events, as stored, then
        # go to the DuckDB collector too (durations are measured: two runs would differ).
        installation_id = deliver_from_your_cli(tmp_path / "home", click, runs=2)
        mine = [e for e in stored_events(clickhouse_url) if e["installation_id"] == installation_id]
        assert len(mine) == 2 and all(e["command"] == "build" for e in mine)
        with httpx.Client(timeout=30) as client:
            assert client.post(duck.event_url, json=mine).status_code == 202
            for n, batch in enumerate(varied_batches()):
                for collector in (duck, click):
                    key = {"Idempotency-Key": f"parity-{n}"}
                    assert (
                        client.post(collector.event_url, json=batch, headers=key).status_code == 202
                    )
        answers = {}
        for name, collector in (("duck", duck), ("click", click)):
            answers[name] = {
                "summary": stats(collector, "summary"),
                "dimensions": stats(collector, "dimensions"),
                "page": httpx.get(f"{collector.url}/", timeout=30).status_code,
            }
    finally:
        duck.stop()
        click.stop()
    assert json.dumps(answers["duck"], indent=1) == json.dumps(answers["click"], indent=1)
    assert answers["click"]["summary"]["data"]["overview"]["events"] == 6 * 40 + 2
    assert report(str(duck.store_path), tmp_path) == report(clickhouse_url, tmp_path)
