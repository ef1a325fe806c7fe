"""The dashboard marks with ⊘ what the public report would hide, from GET /v1/stats/public.

A real `candor serve` over the known data set of tests.publish.dataset (K = 10) and headless
Chromium: the commands chart labels deploy, lint and init (and only them) as hidden.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser.test_dashboard import CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from tests.support.collector import start_collector

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps)"),
]
LABELS = "id => Chart.getChart(document.getElementById(id)).data.labels"


def test_the_dashboard_marks_what_publish_would_hide(known_store: Path, tmp_path: Path) -> None:
    """/v1/stats/public names the hidden rows; the charts label exactly those with ⊘."""
    from playwright.sync_api import expect, sync_playwright

    collector = start_collector(tmp_path, store_path=known_store)
    try:
        marks = httpx.get(
            f"{collector.url}/v1/stats/public",
            params={"since": "90d"},
            headers={"Authorization": f"Bearer {collector.admin_token}"},
        )
        assert marks.status_code == 200, marks.text
        hidden = marks.json()["data"]["hidden"]
        assert sorted(hidden["commands"]) == ["deploy", "init", "lint"]
        assert hidden["os_arch"] == ["macos-aarch64", "windows-x86_64"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.goto(f"{collector.url}/#since=90d")
                page.fill("#token", collector.admin_token)
                page.click("#sign-in")
                expect(page.locator("body")).to_have_attribute(
                    "data-state", "ready", timeout=WAIT_MS
                )
                expect(page.locator("#public-k")).to_have_text("10")
                commands = page.evaluate(LABELS, "chart-commands")
                platforms = page.evaluate(LABELS, "chart-platforms")
            finally:
                browser.close()
    finally:
        collector.stop()
    assert sorted(commands) == ["build", "deploy ⊘", "init ⊘", "lint ⊘", "test"]
    names = sorted(label.split(" · ")[0] for label in platforms)  # the doughnut adds shares
    assert names == ["linux-x86_64", "macos-aarch64 ⊘", "windows-x86_64 ⊘"]
