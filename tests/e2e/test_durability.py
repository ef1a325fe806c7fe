"""Every event that got a 2xx survives SIGKILL and SIGTERM of a collector under load."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.collector import start_collector
from tests.support.load import Load

if TYPE_CHECKING:
    from pathlib import Path

ACKNOWLEDGED_BEFORE_STOP = 400  # events; enough for many group commits to be in flight


def stored_ids(tmp_path: Path, store: Path) -> set[str]:
    """Installation ids in the store, read after a restart (WAL replay) and a clean stop.

    The restart also folds what the killed collector committed but had not yet counted into
    the rollups: they must count every stored event exactly once.
    """
    restarted = start_collector(tmp_path, store_path=store, name="restarted")
    assert restarted.stop() == 0
    ((events, counted),) = restarted.store_rows(
        "SELECT (SELECT count(*) FROM events), (SELECT sum(events) FROM rollup_daily_usage)"
    )
    assert counted == events
    return {str(row[0]) for row in restarted.store_rows("SELECT installation_id FROM events")}


def test_sigkill_under_load_loses_no_acknowledged_event(tmp_path: Path) -> None:
    """SIGKILL mid-load; after a restart every acknowledged event is in the store, none twice."""
    collector = start_collector(tmp_path)
    load = Load(collector.event_url, threads=8)
    load.start()
    load.wait_for(acknowledged=ACKNOWLEDGED_BEFORE_STOP)
    collector.kill()
    load.join()
    assert len(load.acknowledged) >= ACKNOWLEDGED_BEFORE_STOP, load.answers
    stored = stored_ids(tmp_path, collector.store_path)
    missing = load.acknowledged - stored
    assert not missing, f"{len(missing)} of {len(load.acknowledged)} acknowledged events lost"
    assert stored <= load.sent  # nothing stored that was never sent


def test_sigterm_under_load_commits_everything_acknowledged(tmp_path: Path) -> None:
    """SIGTERM mid-load: the collector finishes its requests, exits 0, and lost nothing."""
    collector = start_collector(tmp_path)
    load = Load(collector.event_url, threads=8)
    load.start()
    load.wait_for(acknowledged=ACKNOWLEDGED_BEFORE_STOP)
    assert collector.stop() == 0
    load.join()
    rows = collector.store_rows("SELECT installation_id FROM events")
    stored = [str(row[0]) for row in rows]
    assert len(stored) == len(set(stored))  # each event once
    assert load.acknowledged <= set(stored)
    assert set(stored) <= load.sent
    assert "Traceback" not in collector.log_text()
