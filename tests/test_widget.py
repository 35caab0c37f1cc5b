"""The embeddable widget (static/widget.js) in a real Chromium, on a page of another origin."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from incidents import services
from tests.factories import make_component, make_incident, make_maintenance

pytestmark = pytest.mark.browser


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install chromium")
        pytest.skip("chromium is not installed")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the tests' ORM calls stay sync.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


class _EmbeddingSite(BaseHTTPRequestHandler):
    """Another site, on its own port: it serves one page that embeds the widget."""

    html = b""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def host_page(browser: Any, live_server: Any, settings: Any) -> Iterator[Any]:
    """A page of another origin (another port on the same loopback) that embeds the widget
    with the README's snippet, so the widget's request for the summary is a cross-origin one."""
    settings.SITE_URL = live_server.url
    html = (
        "<!doctype html><html lang='en'><head><title>Shop</title></head><body><h1>Shop</h1>"
        f'<script src="{live_server.url}/static/widget.js" '
        f'data-status-url="{live_server.url}" async></script></body></html>'
    )
    handler = type("Site", (_EmbeddingSite,), {"html": html.encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context()
    page = context.new_page()
    page.host_url = f"http://127.0.0.1:{server.server_port}/"
    yield page
    context.close()
    server.shutdown()
    server.server_close()


def open_host_page(page: Any) -> None:
    with page.expect_response(lambda r: r.url.endswith("/api/v2/summary.json")) as answer:
        page.goto(page.host_url)
    assert answer.value.status == 200
    page.wait_for_load_state("networkidle")


@pytest.mark.django_db(transaction=True)
def test_it_shows_nothing_when_all_is_well(host_page: Any) -> None:
    make_component("API")
    make_maintenance("Upcoming upgrade")

    open_host_page(host_page)

    assert host_page.locator("[data-status-widget]").count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_shows_an_active_incident_until_dismissed(host_page: Any, live_server: Any) -> None:
    api = make_component("API")
    incident = make_incident(
        '<img src=x onerror="window.hacked=1"> API errors',
        impact="major",
        components={api: "partial_outage"},
    )
    services.incident_post_update(incident=incident, status="identified", body="Found it.")

    open_host_page(host_page)

    banner = host_page.get_by_role("region", name="Service status")
    banner.wait_for(timeout=10_000)
    assert '<img src=x onerror="window.hacked=1"> API errors' in banner.inner_text()
    assert "Identified" in banner.inner_text()
    link = banner.get_by_role("link", name="View status")
    assert link.get_attribute("href") == f"{live_server.url}/incidents/{incident.public_id}"
    assert host_page.evaluate("window.hacked") is None

    banner.get_by_role("button", name="Dismiss the status message").click()
    assert host_page.locator("[data-status-widget]").count() == 0
    open_host_page(host_page)
    assert host_page.locator("[data-status-widget]").count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_shows_a_running_maintenance(host_page: Any) -> None:
    db = make_component("Database")
    maintenance = make_maintenance("Database upgrade", components=[db])
    services.maintenance_start(maintenance=maintenance)

    open_host_page(host_page)

    banner = host_page.get_by_role("region", name="Service status")
    banner.wait_for(timeout=10_000)
    assert "Database upgrade" in banner.inner_text()
    assert "Maintenance in progress" in banner.inner_text()
