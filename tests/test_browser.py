"""The public pages in a real browser: Debian's Chromium, driven by Playwright, against a live
server holding the demo data. Screenshots in light and dark go to artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    FloatRect,
    Locator,
    Page,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from incidents.models import Incident
from statuspage.models import Component

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CRITICAL_INCIDENT = "API and dashboard unavailable in the US data center"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API keeps an event loop in this thread; the test still uses the ORM.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
        # What the test read and wrote while Playwright's event loop ran in this thread went
        # through a connection the database teardown does not know of: closed here, or
        # PostgreSQL would refuse to drop the test database at the end of the run.
        connections.close_all()


@pytest.fixture
def site(live_server: LiveServer) -> str:
    call_command("demo", verbosity=0)
    ARTIFACTS.mkdir(exist_ok=True)
    return live_server.url


def open_page(
    browser: Browser,
    url: str,
    *,
    color_scheme: Literal["light", "dark"] = "light",
    viewport: ViewportSize | None = None,
    is_mobile: bool = False,
    has_touch: bool = False,
) -> tuple[Page, list[str]]:
    """A page in a fresh context, and the list it records script errors and failed requests in
    (the browser's own request for /favicon.ico aside) while it stays open."""
    context = browser.new_context(
        timezone_id="UTC",
        color_scheme=color_scheme,
        viewport=viewport,
        is_mobile=is_mobile,
        has_touch=has_touch,
    )
    page = context.new_page()
    problems: list[str] = []

    def on_page_error(error: Error) -> None:
        problems.append(f"script error: {error}")

    def on_console(message: ConsoleMessage) -> None:
        # Failed loads are reported with their address by on_response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("pageerror", on_page_error)
    page.on("console", on_console)
    page.on("response", on_response)
    page.goto(url)
    return page, problems


def box(locator: Locator) -> FloatRect:
    """Where `locator` is drawn; it must be in the page's layout."""
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not laid out"
    return found


def brightness(css_colour: str) -> float:
    """Mean of the red, green and blue channels of an "rgb(r, g, b)" colour."""
    channels = css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")[:3]
    return sum(float(channel) for channel in channels) / 3


def test_it_shows_the_home_page_and_follows_an_uptime_day_to_its_incident(
    browser: Browser, site: str
) -> None:
    page, problems = open_page(browser, site + "/")

    expect(page.locator("#status-banner-title")).to_have_text("Minor Service Outage")
    expect(page.locator(".group__name", has_text="Core API services")).to_be_visible()
    expect(page.locator("#active-incidents")).to_contain_text(
        "Increased latency for background jobs"
    )
    expect(page.locator("#maintenances")).to_contain_text(
        "Network maintenance in the US data center"
    )
    expect(page.locator("#main")).not_to_contain_text("Billing reconciler")

    api = Component.objects.get(name="API")
    day = page.locator(f"#component-{api.public_id} .uptime__days > li").filter(
        has_text=CRITICAL_INCIDENT
    )
    tip = day.locator(".day__tip")
    # Until the day is pointed at, its popover is clipped to one pixel (for screen readers).
    assert box(tip)["width"] <= 1
    day.hover()
    shown = box(tip)
    viewport = page.viewport_size
    assert viewport is not None
    assert shown["width"] > 100
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= viewport["width"]
    expect(tip).to_contain_text("Major outage 1 h 3 min")
    page.screenshot(path=ARTIFACTS / "home-light.png", full_page=True)

    tip.get_by_role("link", name=CRITICAL_INCIDENT).click()

    incident = Incident.objects.get(name=CRITICAL_INCIDENT)
    page.wait_for_url(f"**{incident.get_absolute_url()}")
    expect(page.locator("h1")).to_have_text(CRITICAL_INCIDENT)
    expect(page.locator(".timeline__status")).to_have_text(
        ["Resolved", "Monitoring", "Identified", "Investigating"]
    )
    expect(page.locator(".timeline")).to_contain_text("credential rotation")
    postmortem = page.locator(".postmortem")
    expect(postmortem.locator("h2", has_text="What happened")).to_be_visible()
    expect(postmortem.locator("table tr")).to_have_count(8)
    expect(postmortem.locator("pre code")).to_contain_text("connect_retry_delay")
    page.screenshot(path=ARTIFACTS / "incident-light.png", full_page=True)
    assert problems == []


def test_it_follows_the_dark_colour_scheme(browser: Browser, site: str) -> None:
    page, problems = open_page(browser, site + "/", color_scheme="dark")

    expect(page.locator("#status-banner-title")).to_have_text("Minor Service Outage")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert brightness(background) < 80, background
    page.screenshot(path=ARTIFACTS / "home-dark.png", full_page=True)

    page.goto(site + Incident.objects.get(name=CRITICAL_INCIDENT).get_absolute_url())
    expect(page.locator(".postmortem")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "incident-dark.png", full_page=True)
    assert problems == []


# Names of components and groups whose text runs under their status label.
OVERLAPPING_NAMES = """() => [...document.querySelectorAll(".component__row, .group__summary")]
  .flatMap((row) => {
    const name = row.querySelector(".component__name, .group__name");
    const status = row.querySelector(".status");
    if (!name || !status) return [];
    const label = status.getBoundingClientRect();
    const lines = [...name.childNodes]
      .filter((node) => node.nodeType === Node.TEXT_NODE)
      .flatMap((node) => {
        const range = document.createRange();
        range.selectNodeContents(node);
        return [...range.getClientRects()];
      });
    const hit = lines.some((line) => line.right > label.left && line.left < label.right
      && line.bottom > label.top && line.top < label.bottom);
    return hit ? [name.firstChild.textContent.trim()] : [];
  })"""


def test_it_fits_a_phone_screen_and_opens_a_day_on_tap(browser: Browser, site: str) -> None:
    page, problems = open_page(
        browser, site + "/", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )

    expect(page.locator("#status-banner-title")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    overlapping = page.evaluate(OVERLAPPING_NAMES)
    assert overlapping == [], f"names run under their status label: {overlapping}"
    page.screenshot(path=ARTIFACTS / "home-phone.png", full_page=True)

    scheduler = Component.objects.get(name="Scheduler")
    day = page.locator(f"#component-{scheduler.public_id} .uptime__days > li").filter(
        has_text="Scheduler running reminders late"
    )
    day.tap()
    shown = box(day.locator(".day__tip"))
    assert shown["width"] > 100
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= 390
    assert problems == []
