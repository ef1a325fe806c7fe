"""The dashboard in headless Chromium against a real `candor serve`: token, charts, filters.

The store holds the hand-computed data set of tests/support/dataset.py, moved so that its days
are 10, 9 and 3 days ago: the default range (30 days) shows all 12 events, "last 7 days" only
the 4 of three days ago. Screenshots go to the test's tmp_path and to test-output/.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from candor.storage import open_store
from tests.support.collector import start_collector
from tests.support.dataset import event, load_known

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

    from tests.support.collector import Collector

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WAIT_MS = 30_000  # a loaded 2-core machine; a broken page still fails
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
CHARTS = (
    "chart-active", "chart-weekly", "chart-adoption", "chart-platforms", "chart-commands",
    "chart-interactive", "chart-latency", "chart-releases", "chart-errors",
    "chart-failure-version", "chart-failure-command",
)  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps)"),
]


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """candor serve over the known data set, its days moved to 10, 9 and 3 days ago."""
    store_path = tmp_path / "events.duckdb"
    store = open_store(str(store_path))
    try:
        load_known(store, first_day=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=10))
    finally:
        store.close()
    running = start_collector(tmp_path, store_path=store_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    """A fresh headless Chromium page, 1440 px wide."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1440, "height": 1000})
        finally:
            browser.close()


def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """Save a full-page PNG in the test's folder and in test-output/ for people to look at."""
    target = tmp_path / name
    page.screenshot(path=str(target), full_page=True)
    OUTPUT.mkdir(exist_ok=True)
    shutil.copy(target, OUTPUT / name)


def points(page: Page) -> dict[str, int]:
    """How many data points each chart was drawn with."""
    return {chart: int(page.get_attribute(f"#{chart}", "data-points") or 0) for chart in CHARTS}


def test_dashboard_needs_the_token_then_shows_and_filters(
    collector: Collector, page: Page, tmp_path: Path
) -> None:
    """No token: refused, nothing shown. Token: every chart has data. A filter changes them."""
    from playwright.sync_api import expect

    requests: list[tuple[str, str | None]] = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("authorization"))))
    page.goto(f"{collector.url}/")

    # Without the token: the login form, and the API refuses the page's own requests.
    expect(page.locator("#login-form")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#dashboard")).to_be_hidden()
    assert page.evaluate("fetch('/v1/stats/summary').then(r => r.status)") == 401
    page.fill("#token", "not-the-token")
    page.click("#sign-in")
    expect(page.locator("#login-problem")).to_contain_text("refused", timeout=WAIT_MS)
    expect(page.locator("#dashboard")).to_be_hidden()
    assert page.get_attribute("#ov-events", "data-value") is None

    # With it: the hand-computed numbers and a chart full of data everywhere.
    page.fill("#token", collector.admin_token)
    page.click("#sign-in")
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    expect(page.locator("#ov-events")).to_have_text("12")
    expect(page.locator("#ov-installations")).to_have_text("4")
    expect(page.locator("#ov-failure-rate")).to_have_text("50 %")
    expect(page.locator("#percentile-method")).to_have_text("nearest-rank")
    everything = points(page)
    assert all(count > 0 for count in everything.values()), everything
    assert everything["chart-commands"] == 3 and everything["chart-errors"] == 3
    screenshot(page, tmp_path, "dashboard.png")

    # A filter changes the numbers and the charts.
    page.select_option("#f-command", "build")
    expect(page.locator("#ov-events")).to_have_attribute("data-value", "7", timeout=WAIT_MS)
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    builds = points(page)
    assert builds["chart-commands"] == 1 and builds["chart-errors"] == 1  # compile_error only
    assert "command=build" in page.url
    screenshot(page, tmp_path, "dashboard-build.png")

    # The range picker, with an event that just arrived through the public ingest endpoint.
    answer = httpx.post(collector.event_url, json=[event(
        "9d0e7c1a-3b2f-4e5d-8c6b-7a8f9e0d1c2b", "build", "1.1.0", "linux-x86_64", 700, None, True,
    )])  # fmt: skip
    assert answer.status_code == 202
    page.select_option("#f-range", "7d")
    expect(page.locator("#ov-events")).to_have_attribute("data-value", "2", timeout=WAIT_MS)
    page.select_option("#f-command", "")
    expect(page.locator("#ov-events")).to_have_attribute("data-value", "5", timeout=WAIT_MS)
    expect(page.locator("#ov-new")).to_have_text("2")  # D three days ago, and the new one

    # The token travelled in the Authorization header only, and nothing left this collector.
    headers = [header for url, header in requests if "/v1/stats/" in url]
    assert f"Bearer {collector.admin_token}" in headers
    assert all(header is None or header.startswith("Bearer ") for header in headers)
    assert all(collector.admin_token not in url for url, _ in requests)
    assert all(url.startswith(collector.url) for url, _ in requests)


def test_signing_out_forgets_the_token(collector: Collector, page: Page) -> None:
    """Sign out returns to the login form, and a reload does not bring the data back."""
    from playwright.sync_api import expect

    page.goto(f"{collector.url}/")
    page.fill("#token", collector.admin_token)
    page.click("#sign-in")
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    page.click("#sign-out")
    expect(page.locator("#login-form")).to_be_visible()
    page.reload()
    expect(page.locator("#login-form")).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("sessionStorage.length") == 0


def sign_in(page: Page, collector: Collector) -> None:
    from playwright.sync_api import expect

    page.goto(f"{collector.url}/")
    page.fill("#token", collector.admin_token)
    page.click("#sign-in")
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)


def chart(page: Page, chart_id: str, expression: str) -> object:
    """`expression` evaluated on the Chart.js chart drawn in `#chart_id` (as `c`)."""
    return page.evaluate(
        f"(() => {{ const c = Chart.getChart('{chart_id}'); return {expression}; }})()"
    )


def test_an_empty_store_says_where_to_send_events(tmp_path: Path, page: Page) -> None:
    """No events: no empty charts, but the endpoint and the exact variable to set."""
    from playwright.sync_api import expect

    collector = start_collector(tmp_path)
    try:
        sign_in(page, collector)
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#answers")).to_be_hidden()
        expect(page.locator("#empty-title")).to_have_text("No events yet")
        expect(page.locator("#empty-command")).to_have_text(
            f"YOUR_PLATFORM_TELEMETRY_ENDPOINT={collector.url}/v1/event your-cli build"
        )
        screenshot(page, tmp_path, "dashboard-empty.png")
        # The first event arrives: the next load draws the charts.
        first = event("9d0e7c1a-3b2f-4e5d-8c6b-7a8f9e0d1c2b", "build", "1.1.0", "linux-x86_64",
                      700, None, True)  # fmt: skip
        assert httpx.post(collector.event_url, json=[first]).status_code == 202
        page.select_option("#f-range", "7d")
        expect(page.locator("#ov-events")).to_have_attribute("data-value", "1", timeout=WAIT_MS)
        expect(page.locator("#empty")).to_be_hidden()
    finally:
        collector.stop()


def test_charts_compare_fairly_and_keep_their_colours(collector: Collector, page: Page) -> None:
    """One axis for both bar series; a release's colour does not depend on the range; the
    doughnuts show shares; today's unfinished day is marked as such."""
    from playwright.sync_api import expect

    sign_in(page, collector)
    for chart_id in ("chart-commands", "chart-errors"):
        assert chart(page, chart_id, "Object.keys(c.options.scales).sort()") == ["x", "y"]
        assert chart(page, chart_id, "c.data.datasets.map(d => d.xAxisID || 'x')") == ["x", "x"]
    colour = "c.data.datasets.find(d => d.label.startsWith('1.1.0')).borderColor"  # ⊘: hidden
    wide = chart(page, "chart-adoption", colour)
    assert chart(page, "chart-adoption", "c.data.datasets.length") == 2
    page.select_option("#f-range", "7d")
    expect(page.locator("#ov-events")).to_have_attribute("data-value", "4", timeout=WAIT_MS)
    assert chart(page, "chart-adoption", "c.data.datasets.length") == 1
    assert chart(page, "chart-adoption", colour) == wide
    for chart_id in ("chart-platforms", "chart-interactive"):
        labels = chart(page, chart_id, "c.data.labels")
        assert isinstance(labels, list) and all(label.endswith(" %") for label in labels), labels
    assert chart(page, "chart-platforms", "c.data.labels.map(l => l.replace(' ⊘', '')).sort()") == [
        "linux-x86_64 · 50 %", "windows-x86_64 · 50 %",
    ]  # fmt: skip
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert page.get_attribute("#chart-active", "data-partial-day") == today
    assert chart(page, "chart-active", "c.data.labels.at(-1)") == f"{today} (so far)"
    # A chart with nothing to show says so instead of drawing empty axes.
    page.select_option("#f-range", "30d")
    page.select_option("#f-command", "test")  # C's one successful CI run: no error at all
    expect(page.locator("#ov-events")).to_have_attribute("data-value", "1", timeout=WAIT_MS)
    expect(page.locator("#chart-errors")).to_be_hidden()
    assert page.get_attribute("#chart-errors", "data-points") == "0"
    assert chart(page, "chart-errors", "c === undefined") is True
    assert "nothing" in (page.get_attribute("#chart-errors >> xpath=..", "class") or "")
