"""An update email as a reader sees it: its HTML rendered by Chromium (no style sheet, as in a
mail client), one status in its colour, headings below the title, one button; screenshots of an
update and of a postmortem go to artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from incidents import services as incident_services
from incidents.models import EventKind, Incident, OutboxEvent
from notifications.emails import event_email
from tests.factories import make_component, make_incident
from tests.test_browser import ARTIFACTS, browser  # noqa: F401 - fixture
from website.serializers import with_serialization_prefetches

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def email_page(browser: Browser, incident: Incident, kind: str, width: int = 700) -> Page:  # noqa: F811
    event = OutboxEvent.objects.filter(incident=incident, kind=kind).latest("pk")
    loaded = with_serialization_prefetches(Incident.objects.filter(pk=incident.pk)).get()
    html = event_email(kind=kind, incident=loaded, update_id=event.update_id).html
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_content(html)
    return page


def rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_an_update_email_shows_one_coloured_status_and_one_button(browser: Browser) -> None:  # noqa: F811
    api, web = make_component("API"), make_component("Dashboard")
    incident = make_incident(
        "Elevated error rates on the API",
        impact="major",
        components={api: "major_outage", web: "partial_outage"},
    )
    incident_services.incident_post_update(
        incident=incident,
        status="monitoring",
        body="A fix has been deployed and **error rates are back to normal**. "
        "We are watching the API closely.",
        component_statuses={api: "degraded_performance", web: "operational"},
    )
    ARTIFACTS.mkdir(exist_ok=True)

    page = email_page(browser, incident, EventKind.INCIDENT_UPDATED)

    status = page.get_by_text("Monitoring", exact=True)
    assert status.count() == 1
    assert status.evaluate("e => getComputedStyle(e).backgroundColor") == rgb("#1f66c9")
    buttons = page.get_by_role("link", name="View the incident")
    assert buttons.count() == 1 and buttons.is_visible()
    assert page.get_by_text("Partial outage →").is_visible()
    page.screenshot(path=ARTIFACTS / "email-update.png", full_page=True)

    phone = email_page(browser, incident, EventKind.INCIDENT_UPDATED, width=375)
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 375
    phone.screenshot(path=ARTIFACTS / "email-update-phone.png", full_page=True)


def test_a_postmortem_emails_headings_are_smaller_than_its_title(browser: Browser) -> None:  # noqa: F811
    incident = make_incident("Elevated error rates on the API")
    incident_services.incident_resolve(incident=incident, body="Fixed.")
    incident_services.incident_publish_postmortem(
        incident=incident,
        body="# What happened\n\nA configuration change.\n\n## Timeline\n\n- 10:02 deploy\n"
        "- 10:05 alerts\n\n## What we change\n\n```\nretries: 3\n```",
    )

    page = email_page(browser, incident, EventKind.POSTMORTEM_PUBLISHED)

    def size(selector: str) -> float:
        return float(
            page.locator(selector).first.evaluate("e => getComputedStyle(e).fontSize")[:-2]
        )

    title = size("h1:has-text('Elevated error rates')")
    assert size("h1:has-text('What happened')") < title
    assert size("h2:has-text('Timeline')") < title
    assert page.get_by_role("link", name="Read the postmortem").count() == 1
    page.screenshot(path=ARTIFACTS / "email-postmortem.png", full_page=True)
