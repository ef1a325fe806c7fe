"""The published index.html opened from disk (file://) in headless Chromium with no network.

The known data set of tests.publish.dataset, published with K = 10: the charts must be drawn
with exactly the shown figures (and nothing of the hidden ones), every request must be for a
file of the folder, and a screenshot goes to the test's folder and to test-output/.
"""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_dashboard import CHROMIUM, CHROMIUM_ARGS, OUTPUT, WAIT_MS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Route

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps)"),
]
CHART_DATA = """id => {
  const chart = Chart.getChart(document.getElementById(id));
  return {labels: chart.data.labels, data: chart.data.datasets.map(d => d.data)};
}"""


def only_files(route: Route, seen: list[str]) -> None:
    """Note every request; let files through, refuse anything else (none should come)."""
    seen.append(route.request.url)
    if route.request.url.startswith("file://"):
        route.continue_()
    else:
        route.abort()


def test_the_report_opens_offline_from_disk_with_the_right_charts(
    published: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Offline, from file://: every chart drawn with the shown figures; no other request."""
    from playwright.sync_api import expect, sync_playwright

    out, figures = published
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            context.route("**/*", lambda route: only_files(route, requests))
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto((out / "index.html").as_uri())
            expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
            expect(page.locator("#k")).to_have_text("10")
            expect(page.locator("#ov-installations")).to_have_text("25")

            charts = {
                name: page.evaluate(CHART_DATA, f"chart-{name}")
                for name in ("commands", "platforms", "versions", "errors", "weekly", "durations")
            }
            assert charts["commands"] == {"labels": ["build", "test"], "data": [[25, 14]]}
            assert charts["platforms"] == {"labels": ["linux-x86_64"], "data": [[15]]}
            assert charts["versions"] == {"labels": ["1.1.0"], "data": [[20]]}
            assert charts["errors"] == {"labels": ["compile_error"], "data": [[12]]}
            weeks = figures["weekly_active"]["rows"]
            assert charts["weekly"]["data"] == [[w["installations"] for w in weeks]]
            durations = figures["durations_by_command"]["rows"]
            assert charts["durations"] == {
                "labels": [r["command"] for r in durations],
                "data": [[r["p50"] for r in durations], [r["p90"] for r in durations]],
            }
            # The tables show the same, and "other" in place of the hidden commands.
            table = page.locator('table[data-table="commands"] tbody tr td:first-child')
            expect(table).to_have_text(["build", "test", "(other)"])
            page.screenshot(path=str(tmp_path / "public-report.png"), full_page=True)
        finally:
            browser.close()
    OUTPUT.mkdir(exist_ok=True)
    shutil.copy(tmp_path / "public-report.png", OUTPUT / "public-report.png")
    assert errors == []
    assert requests and all(url.startswith(out.as_uri()) for url in requests), requests


@pytest.fixture
def static_host(published: tuple[Path, dict[str, Any]]) -> Iterator[str]:
    """The published folder served by a plain static file server on 127.0.0.1."""
    out, _ = published

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """No access log on the test's output."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_report_works_from_a_static_host_and_without_javascript(static_host: str) -> None:
    """Over HTTP from a static server the charts draw; with JavaScript off the tables still
    hold every shown figure. Nothing is requested from anywhere but that host."""
    from playwright.sync_api import expect, sync_playwright

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for scripts in (True, False):
                context = browser.new_context(java_script_enabled=scripts)
                context.on("request", lambda request: requests.append(request.url))
                page = context.new_page()
                page.goto(f"{static_host}/index.html")
                state = "ready" if scripts else "loading"  # report.js sets it once charts drew
                expect(page.locator("body")).to_have_attribute("data-state", state, timeout=WAIT_MS)
                cells = page.locator('table[data-table="commands"] tbody tr td:first-child')
                expect(cells).to_have_text(["build", "test", "(other)"])
                expect(page.locator('table[data-table="error_codes"] tbody td').first).to_have_text(
                    "compile_error"
                )
                context.close()
        finally:
            browser.close()
    assert requests and all(url.startswith(static_host) for url in requests), requests
