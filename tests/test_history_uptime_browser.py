"""In a real browser: the history's year jump and component filter, and the uptime bars at phone
width, whose label and percentage follow the 30 days a phone shows. Screenshots go to
artifacts/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from incidents import services
from statuspage.models import Component
from tests.test_browser import ARTIFACTS, browser, open_page, site  # noqa: F401 - fixtures
from website.selectors import home_page_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 390, "height": 844}


def _past_incident(name: str, start: dt.datetime, component: Component) -> None:
    services.incident_backfill(
        name=name,
        impact="major",
        started_at=start,
        resolved_at=start + dt.timedelta(hours=2),
        body=f"{name}: resolved.",
        component_statuses={component: "major_outage"},
        move_component_starts=True,
    )


def test_the_history_jumps_to_a_year_and_filters_by_component(
    browser: Browser,  # noqa: F811
    site: str,  # noqa: F811
) -> None:
    first, second = Component.objects.public().order_by("pk")[:2]
    _past_incident("Storage outage of 2022", dt.datetime(2022, 3, 8, 9, tzinfo=dt.UTC), first)
    _past_incident("Network outage of 2022", dt.datetime(2022, 3, 9, 9, tzinfo=dt.UTC), second)
    _past_incident("Outage of 2021", dt.datetime(2021, 7, 1, 9, tzinfo=dt.UTC), first)

    page, problems = open_page(browser, site + "/history")
    page.get_by_role("navigation", name="Jump to a year").get_by_role("link", name="2022").click()
    expect(page).to_have_url(re.compile(r"/history(\?page=\d+)?#month-2022-03$"))
    month = page.locator("#month-2022-03")
    expect(month).to_be_in_viewport()
    expect(page.get_by_role("link", name="Storage outage of 2022")).to_be_visible()
    expect(page.get_by_role("link", name="Network outage of 2022")).to_be_visible()

    page.get_by_label("Component").select_option(first.public_id)
    expect(page.get_by_role("link", name="Storage outage of 2022")).to_be_visible()
    expect(page.get_by_role("link", name="Network outage of 2022")).to_be_hidden()
    page.screenshot(path=ARTIFACTS / "history-2022-filtered.png", full_page=True)

    # The choice holds on the other pages of the history.
    page.get_by_role("navigation", name="Jump to a year").get_by_role("link", name="2021").click()
    expect(page.get_by_label("Component")).to_have_value(first.public_id)
    assert problems == []


def test_without_javascript_the_whole_history_shows(
    browser: Browser,  # noqa: F811
    site: str,  # noqa: F811
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/history")
    expect(page.locator(".history-filter")).to_be_hidden()
    assert page.locator(".history-item:visible").count() == page.locator(".history-item").count()
    context.close()


def test_on_a_phone_the_uptime_label_and_percentage_follow_the_30_days_shown(
    browser: Browser,  # noqa: F811
    site: str,  # noqa: F811
) -> None:
    entries = home_page_context()["component_entries"]
    bars = {}
    for entry in entries:  # type: ignore[attr-defined]  # a list of entries
        for component_entry in entry.components if entry.is_group else [entry]:
            if component_entry.uptime is not None:
                bars[component_entry.component.name] = component_entry.uptime

    phone, problems = open_page(browser, site + "/", viewport=PHONE, has_touch=True)
    # inner_text: what is rendered, not the text of the hidden wide-screen spans too.
    assert phone.locator(".uptime-span").inner_text() == "Uptime over the past 30 days"
    first_bar = phone.locator(".uptime").first
    assert first_bar.locator(".uptime__days > li:visible").count() == 30
    assert first_bar.locator(".uptime__edge").first.inner_text() == "30 days ago"
    shown = {}
    for row in phone.locator("li.component:has(.uptime)").all():
        name = row.locator(".component__link").first.inner_text().strip()
        if name:  # a component of a folded group is not shown
            shown[name] = row.locator(".uptime__percent").inner_text()
    assert shown, "no uptime bars on the page"
    for name, text in shown.items():
        assert text == bars[name].recent_uptime_display, name
    # The demo's bars differ over 30 and 90 days somewhere, so the two figures are not one.
    assert any(b.recent_uptime_display != b.uptime_display for b in bars.values())
    expect(phone.get_by_role("list", name="What the colours of the bars mean")).to_be_visible()
    phone.screenshot(path=ARTIFACTS / "home-phone-uptime.png", full_page=True)

    desktop, desktop_problems = open_page(browser, site + "/")
    assert desktop.locator(".uptime-span").inner_text() == "Uptime over the past 90 days"
    first_name = next(iter(shown))
    row = desktop.locator(".component:has(.uptime)").filter(has_text=first_name).first
    assert row.locator(".uptime__percent").inner_text() == bars[first_name].uptime_display
    assert problems == [] and desktop_problems == []


def test_component_names_that_link_look_like_links(
    browser: Browser,  # noqa: F811
    site: str,  # noqa: F811
) -> None:
    page, problems = open_page(browser, site + "/")
    link = page.locator(".component__link").first
    style = link.evaluate(
        "el => [getComputedStyle(el).textDecorationLine, getComputedStyle(el).color,"
        " getComputedStyle(el.closest('.component') || document.body).color]"
    )
    assert "underline" in style[0]
    assert style[1] != style[2]
    assert problems == []
