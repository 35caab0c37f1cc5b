"""Compact uptime days in a real browser: a day printed without its popover gets one when
pointed at or tapped, with the same text the server put in its title."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser, expect

from tests.test_browser import browser, open_page, site  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_compact_day_opens_its_popover_on_hover_and_on_tap(
    browser: Browser,  # noqa: F811
    site: str,  # noqa: F811
) -> None:
    page, problems = open_page(browser, site + "/")
    # Pinned by its bar and its place in it: the title goes once the popover is built.
    bars = page.locator(".uptime__days")
    compact = page.locator(".uptime__days > li[title]:visible").last
    bar_index = compact.evaluate(
        "d => [...document.querySelectorAll('.uptime__days')].indexOf(d.parentNode)"
    )
    day_index = compact.evaluate("d => [...d.parentNode.children].indexOf(d)")
    day = bars.nth(bar_index).locator(":scope > li").nth(day_index)
    title = day.get_attribute("title")
    assert title and " · " in title
    day.hover()
    tip = day.locator(".day__tip")
    expect(tip).to_be_visible()
    label, summary = title.split(" · ", 1)
    expect(tip.locator(".day__date")).to_have_text(label)
    expect(tip.locator(".day__summary")).to_have_text(summary)
    # The machine-readable date comes from the day's place after the bar's first day.
    first_day = bars.nth(bar_index).get_attribute("data-first")
    assert first_day
    first = dt.date.fromisoformat(first_day)
    shown = first + dt.timedelta(days=day_index)
    assert label == f"{shown:%b} {shown.day}, {shown.year}"
    expect(tip.locator(".day__date")).to_have_attribute("datetime", shown.isoformat())
    assert day.get_attribute("aria-label") == title
    assert day.get_attribute("title") is None  # no second, native tooltip

    phone, phone_problems = open_page(
        browser, site + "/", viewport={"width": 390, "height": 844}, has_touch=True
    )
    other = phone.locator(".uptime__days").nth(bar_index).locator(":scope > li").nth(day_index)
    other.tap()
    expect(other.locator(".day__tip")).to_be_visible()
    assert problems == [] and phone_problems == []
