"""Live updates in a real browser: a staff update appears on an open home page by itself,
without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.fixtures import Settings

from incidents import services
from incidents.models import Incident
from statuspage.models import Component
from tests.test_browser import browser, open_page, site  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.public_cache
def test_a_staff_update_reaches_an_open_page_without_a_reload(
    browser: Browser,  # noqa: F811
    site: str,  # noqa: F811
    settings: Settings,
) -> None:
    settings.LIVE_UPDATE_SECONDS = 1
    page, problems = open_page(browser, site + "/")
    expect(page.locator("#status-banner-title")).to_have_text("Minor Service Outage")
    page.evaluate("window.loadedOnce = true")

    us = Component.objects.get(name="US data center")
    services.incident_open(
        name="US data center unreachable",
        impact="critical",
        body="Requests to the US data center time out.",
        component_statuses={us: "major_outage"},
    )

    expect(page.locator("#status-banner-title")).to_have_text("Major System Outage", timeout=10_000)
    expect(page.locator("#active-incidents")).to_contain_text("US data center unreachable")
    row = page.locator(f"#component-{us.public_id}")
    expect(row.locator(".status").first).to_contain_text("Major outage")
    assert page.evaluate("window.loadedOnce") is True  # swapped in place, not reloaded
    # Times in swapped sections are localized like the rest of the page.
    assert page.locator("#active-incidents time").first.get_attribute("title")

    incident = Incident.objects.get(name="US data center unreachable")
    services.incident_resolve(incident=incident, body="Connectivity is back.")
    expect(page.locator("#status-banner-title")).to_have_text(
        "Minor Service Outage", timeout=10_000
    )
    assert page.evaluate("window.loadedOnce") is True
    assert problems == []
