"""Compact uptime days in a real browser: a day printed without its popover gets one when
pointed at or tapped, with the same text the server put in its title."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.test_browser import browser, open_page, site  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_compact_day_opens_its_popover_on_hover_and_on_tap(
    browser: Browser,  # noqa: F811
    site: str,  # noqa: F811
) -> None:
    page, problems = open_page(browser, site + "/")
    # Pinned by its date in one bar: the title goes once the popover is built.
    date_of = page.locator(".uptime__days .day[title]:visible").last.get_attribute("data-date")
    day = page.locator(f'.uptime__days .day[data-date="{date_of}"]:visible').last
    title = day.get_attribute("title")
    assert title and " · " in title
    day.hover()
    tip = day.locator(".day__tip")
    expect(tip).to_be_visible()
    date, summary = title.split(" · ", 1)
    expect(tip.locator(".day__summary")).to_have_text(summary)
    assert day.get_attribute("aria-label") == title
    assert day.get_attribute("title") is None  # no second, native tooltip

    phone, phone_problems = open_page(
        browser, site + "/", viewport={"width": 390, "height": 844}, has_touch=True
    )
    other = phone.locator(f'.uptime__days .day[data-date="{date_of}"]:visible').first
    other.tap()
    expect(other.locator(".day__tip")).to_be_visible()
    assert problems == [] and phone_problems == []
