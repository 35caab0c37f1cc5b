"""The admin and a branded page in a real browser (Debian's Chromium through Playwright) against
a live server holding the demo data: what staff see at common laptop widths. Screenshots of the
admin home, an incident's page, the incident list and a branded public page go to artifacts/."""

# The browser and site fixtures come from tests.test_browser; tests name them as parameters.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from playwright.sync_api import Browser, FloatRect, Page, expect

from incidents.models import Incident
from statuspage.models import FooterLink, PageSettings, StaffPreference
from tests.test_browser import ARTIFACTS, browser, site  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40">'
    b'<rect width="40" height="40" rx="8" fill="#0b5394"/>'
    b'<text x="50" y="28" font-family="sans-serif" font-size="22" fill="#0b5394">Acme</text>'
    b"</svg>"
)


def staff_page(browser: Browser, site: str, width: int, height: int = 900) -> Page:
    """A page logged in as a superuser, at the given window size."""
    user = User.objects.create_superuser(f"staff{width}", f"staff{width}@example.com")
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="UTC")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site}]
    )
    return context.new_page()


def overlaps(a: FloatRect, b: FloatRect) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("width", [1280, 1440])
def test_an_incidents_title_is_not_covered_by_its_actions(
    browser: Browser, site: str, width: int
) -> None:
    incident = Incident.objects.filter(kind="incident", resolved_at__isnull=True).first()
    assert incident is not None
    page = staff_page(browser, site, width)
    page.goto(f"{site}/admin/incidents/incident/{incident.pk}/change/")
    title = page.locator("#content h1")
    expect(title).to_have_text(incident.name)
    title_box = title.bounding_box()
    assert title_box is not None
    actions = page.locator("#content-main > .object-tools li")
    assert actions.count() >= 4
    for index in range(actions.count()):
        action_box = actions.nth(index).bounding_box()
        assert action_box is not None
        assert not overlaps(title_box, action_box), actions.nth(index).inner_text()
    # What is drawn at the title's centre is the title itself.
    drawn = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('h1') !== null",
        [title_box["x"] + 20, title_box["y"] + title_box["height"] / 2],
    )
    assert drawn
    page.screenshot(path=str(ARTIFACTS / f"admin-incident-{width}.png"))
    page.context.close()


def test_the_incident_list_fits_at_1280_px(browser: Browser, site: str) -> None:
    page = staff_page(browser, site, 1280)
    page.goto(f"{site}/admin/incidents/incident/")
    table = page.locator("#result_list")
    expect(table).to_be_visible()
    fits = page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert fits, "the page scrolls sideways"
    container = page.locator("#changelist .results")
    overflow = container.evaluate("(e) => e.scrollWidth - e.clientWidth")
    assert overflow <= 0, f"the table is cut off by {overflow} px"
    # No name wraps onto more than two lines.
    lines = page.evaluate(
        """() => [...document.querySelectorAll('#result_list th.field-name a')].map((a) => {
            const style = getComputedStyle(a);
            const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
            return Math.round(a.getBoundingClientRect().height / line);
        })"""
    )
    assert lines and max(lines) <= 2, lines
    page.screenshot(path=str(ARTIFACTS / "admin-incident-list-1280.png"), full_page=True)
    page.context.close()


def test_the_admin_home_shows_the_open_incident_first(browser: Browser, site: str) -> None:
    incident = Incident.objects.filter(kind="incident", resolved_at__isnull=True).first()
    assert incident is not None
    page = staff_page(browser, site, 1280, 800)
    page.goto(f"{site}/admin/")
    row = page.locator(".sp-home-open tr", has_text=incident.name)
    expect(row).to_be_visible()
    post = row.get_by_role("link", name="Post an update")
    expect(post).to_be_in_viewport()
    expect(page.locator(".sp-home-components")).to_contain_text("Degraded performance")
    page.screenshot(path=str(ARTIFACTS / "admin-home-1280.png"), full_page=True)
    post.click()
    expect(page.locator("#update-form")).to_be_visible()
    expect(page.locator("#content h1")).to_have_text(incident.name)
    page.context.close()


def test_a_branded_page_shows_its_logo_colours_and_links(
    browser: Browser, site: str, settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    row = PageSettings(
        name="Acme Cloud",
        headline="Payments, invoices and the API, watched around the clock.",
        support_url="https://help.acme.test/",
        css_link_color="#0b5394",
        css_greens="#1a7f37",
    )
    row.transactional_logo.save("acme.svg", ContentFile(LOGO), save=False)
    row.save()
    FooterLink.objects.create(page=row, label="Privacy", url="https://acme.test/privacy")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(site + "/")
    logo = page.locator("img.brand__logo")
    expect(logo).to_have_attribute("alt", "Acme Cloud")
    assert logo.evaluate("(img) => img.complete && img.naturalWidth > 0")
    expect(page).to_have_title("Acme Cloud: " + page.title().split(": ", 1)[1])
    expect(page.locator(".page-headline")).to_contain_text("watched around the clock")
    expect(page.get_by_role("link", name="Get help")).to_have_attribute(
        "href", "https://help.acme.test/"
    )
    expect(page.locator(".footer-links")).to_contain_text("Privacy")
    link_colour = page.locator(".site-footer a").first.evaluate("(a) => getComputedStyle(a).color")
    assert link_colour == "rgb(11, 83, 148)"
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    page.screenshot(path=str(ARTIFACTS / "branded-home.png"), full_page=True)
    context.close()


def test_staff_take_their_browsers_time_zone_in_one_click(browser: Browser, site: str) -> None:
    user = User.objects.create_superuser("paris", "paris@example.com")
    client = Client()
    client.force_login(user)
    context = browser.new_context(timezone_id="Europe/Paris")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site}]
    )
    page = context.new_page()
    page.goto(f"{site}/admin/")
    page.get_by_role("link", name="Time zone: UTC").click()
    page.get_by_role("button", name="Use this browser's zone (Europe/Paris)").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Time zone: Europe/Paris")).to_be_visible()
    assert StaffPreference.objects.get(user=user).time_zone == "Europe/Paris"
    context.close()
