"""The real `your-cli` reports to the real `candor serve`, over HTTP and over verified HTTPS."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from candor.schema import FIELD_NAMES, validate_event
from tests.support.cli import ENDPOINT_VARIABLE, run_cli
from tests.support.collector import Collector, start_collector

if TYPE_CHECKING:
    from pathlib import Path

DELIVERY_TIMEOUT_S = 60.0  # the detached sender starts Python and posts: seconds on a busy box
MANIFEST = 'name = "hello-web"\nversion = "1.4.0"\n'


def prepare_user(home: Path) -> tuple[str, Path]:
    """A HOME whose telemetry is on with the notice already shown, and a project to build."""
    installation_id = str(uuid.uuid4())
    config = home / ".your-platform" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps(
            {
                "installation_id": installation_id,
                "telemetry": {"enabled": True, "notice_shown": True},
            }
        )
    )
    project = home / "project"
    project.mkdir()
    (project / "your-platform.toml").write_text(MANIFEST)
    return installation_id, project


def wait_for_delivery(collector: Collector) -> None:
    """Poll the collector's own counter until one event was accepted (the sender is detached)."""
    import httpx

    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    with httpx.Client(verify=False) as client:
        while time.monotonic() < deadline:
            token = {"Authorization": f"Bearer {collector.admin_token}"}
            text = client.get(f"{collector.url}/metrics", headers=token).text
            if "candor_events_accepted_total 1\n" in text:
                return
            time.sleep(0.1)  # polling interval
    pytest.fail(f"no event reached the collector in {DELIVERY_TIMEOUT_S:g} s")


def stored_events(collector: Collector) -> list[dict[str, object]]:
    """Every stored event as a dict of the nine fields plus received_at, read from the file."""
    columns = [*FIELD_NAMES, "received_at"]
    rows = collector.store_rows(f"SELECT {', '.join(columns)} FROM events")
    return [dict(zip(columns, row, strict=True)) for row in rows]


def assert_build_event(event: dict[str, object], installation_id: str) -> None:
    received_at = event.pop("received_at")
    event["installation_id"] = str(event["installation_id"])
    assert validate_event(event) == []
    assert event["installation_id"] == installation_id
    assert event["command"] == "build"
    assert event["status"] == "success"
    assert event["error_code"] is None
    assert event["cli_version"] == "0.2.1"
    assert event["is_interactive"] is False  # no terminal under the test runner
    assert received_at is not None


def test_your_cli_build_lands_in_the_store(tmp_path: Path, home: Path) -> None:
    """`your-cli build` → the detached sender → POST /v1/event → one row with the nine fields."""
    installation_id, project = prepare_user(home)
    collector = start_collector(tmp_path)
    try:
        result = run_cli(
            "build", home=home, cwd=project, env={ENDPOINT_VARIABLE: collector.event_url}
        )
        assert result.returncode == 0, result.stderr
        wait_for_delivery(collector)
    finally:
        assert collector.stop() == 0
    events = stored_events(collector)
    assert len(events) == 1
    assert_build_event(events[0], installation_id)


def test_your_cli_reports_over_verified_https(tmp_path: Path, home: Path) -> None:
    """With --tls-cert/--tls-key the collector serves HTTPS the real client verifies (trustme)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_pem, key_pem, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    installation_id, project = prepare_user(home)
    collector = start_collector(
        tmp_path, extra_args=("--tls-cert", str(cert_pem), "--tls-key", str(key_pem))
    )
    try:
        assert collector.event_url.startswith("https://")
        result = run_cli(
            "build",
            home=home,
            cwd=project,
            env={ENDPOINT_VARIABLE: collector.event_url, "SSL_CERT_FILE": str(ca_pem)},
        )
        assert result.returncode == 0, result.stderr
        wait_for_delivery(collector)
    finally:
        assert collector.stop() == 0
    events = stored_events(collector)
    assert len(events) == 1
    assert_build_event(events[0], installation_id)
