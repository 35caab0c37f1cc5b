"""What an event's email shows, as the page shows it: one status in its colour, the update,
the components with what this update changed, and one link that says where it goes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from incidents import services as incident_services
from incidents.models import EventKind, Incident, OutboxEvent
from notifications.emails import EventEmail, event_email, notice_email
from notifications.models import Notice
from statuspage.models import PageSettings
from tests.factories import make_component, make_incident, make_maintenance
from tests.notifications.factories import make_subscriber
from website.serializers import with_serialization_prefetches

pytestmark = pytest.mark.django_db

RED = "#c42530"
BLUE = "#1f66c9"
GREEN = "#17804a"


def email_of(incident: Incident, kind: str) -> EventEmail:
    event = OutboxEvent.objects.filter(incident=incident, kind=kind).latest("pk")
    loaded = with_serialization_prefetches(Incident.objects.filter(pk=incident.pk)).get()
    return event_email(kind=kind, incident=loaded, update_id=event.update_id)


class Visible(HTMLParser):
    """The text a reader sees (the title and styles left out), and the links with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._skip = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "style"):
            self._skip += 1
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self.links.append((self._href, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "style"):
            self._skip -= 1
        if tag == "a":
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._href is not None:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)


def visible(html: str) -> Visible:
    parser = Visible()
    parser.feed(html)
    return parser


def test_an_update_email_shows_its_status_once_and_monitoring_is_not_red():
    api = make_component("API")
    incident = make_incident("Login failures", impact="critical", components={api: "major_outage"})
    incident_services.incident_post_update(
        incident=incident,
        status="monitoring",
        body="A fix is out; we are watching.",
        component_statuses={api: "degraded_performance"},
    )

    content = email_of(incident, EventKind.INCIDENT_UPDATED)

    seen = visible(content.html)
    assert " ".join(seen.text).count("Monitoring") == 1
    pill = re.search(r'background:(#[0-9a-f]{6});[^"]*">Monitoring<', content.html)
    assert pill is not None and pill[1] == BLUE
    assert RED not in content.html.split("</h1>")[0]
    assert content.text.count("Monitoring") == 1


def test_an_open_incident_takes_its_impacts_colour_and_a_resolved_one_is_green():
    api = make_component("API")
    incident = make_incident("Login failures", impact="critical", components={api: "major_outage"})
    assert f"background:{RED}" in email_of(incident, EventKind.INCIDENT_CREATED).html

    incident_services.incident_resolve(incident=incident, body="Fixed.")
    resolved = email_of(incident, EventKind.INCIDENT_UPDATED)
    assert re.search(rf'background:{GREEN};[^"]*">Resolved<', resolved.html)


def test_the_email_has_one_link_to_the_incident_and_its_text_says_what_it_does():
    incident = make_incident("Login failures")

    content = email_of(incident, EventKind.INCIDENT_CREATED)

    incident_links = [
        (href, text) for href, text in visible(content.html).links if "/incidents/" in href
    ]
    assert [text.strip() for _, text in incident_links] == ["View the incident"]
    assert "Follow it on" not in content.html and "Follow it on" not in content.text
    assert "View the incident: http" in content.text


def test_a_maintenance_email_links_to_the_maintenance_in_maintenance_blue():
    maintenance = make_maintenance(components=[make_component("Database")])

    content = email_of(maintenance, EventKind.MAINTENANCE_SCHEDULED)

    assert "View the maintenance" in content.html
    assert f"background:{BLUE}" in content.html
    assert "Window:" in content.text


def test_the_components_show_their_status_now_and_what_this_update_changed():
    api, web = make_component("API"), make_component("Web")
    incident = make_incident("Errors", components={api: "major_outage", web: "partial_outage"})
    incident_services.incident_post_update(
        incident=incident,
        status="identified",
        body="Found it.",
        component_statuses={api: "major_outage", web: "degraded_performance"},
    )

    content = email_of(incident, EventKind.INCIDENT_UPDATED)

    text = re.sub(r"\s+", " ", " ".join(visible(content.html).text))
    assert "Web Partial outage → Degraded performance" in text
    assert "API Major outage" in text and "API Major outage →" not in text
    assert "Web: Partial outage -> Degraded performance" in content.text
    assert "API: Major outage -> Major outage" not in content.text


def test_postmortem_headings_are_smaller_than_the_incident_title():
    incident = make_incident("Login failures")
    incident_services.incident_resolve(incident=incident, body="Fixed.")
    incident_services.incident_publish_postmortem(
        incident=incident, body="# What happened\n\n## Timeline\n\nA bad deploy.\n\n### Details"
    )

    content = email_of(incident, EventKind.POSTMORTEM_PUBLISHED)

    title = re.search(r'<h1 style="[^"]*font-size:(\d+)px', content.html)
    assert title is not None
    body = content.html.split("</h1>", 1)[1]
    sizes = [int(size) for size in re.findall(r'<h[1-6] style="[^"]*font-size:(\d+)px', body)]
    assert len(sizes) == 3 and max(sizes) < int(title[1])
    assert "Read the postmortem" in content.html
    assert "Changed in this update" not in content.text
    assert content.text.count("Postmortem") == 1


def test_the_email_carries_the_page_name_and_email_logo_staff_set(settings):
    settings.SITE_URL = "https://status.example.com"
    PageSettings.objects.update_or_create(
        pk=1, defaults={"name": "Acme Status", "email_logo": "branding/acme-mail.png"}
    )
    incident = make_incident("Login failures")

    content = email_of(incident, EventKind.INCIDENT_CREATED)

    assert 'src="https://status.example.com/branding/acme-mail.png"' in content.html
    assert 'alt="Acme Status"' in content.html
    assert content.text.startswith("Acme Status\n")
    assert "subscribed to Acme Status" in content.text


def test_the_confirmation_email_has_the_same_frame_logo_and_one_button(settings):
    settings.SITE_URL = "https://status.example.com"
    PageSettings.objects.update_or_create(
        pk=1, defaults={"name": "Acme Status", "email_logo": "branding/acme-mail.png"}
    )
    subscriber = make_subscriber("ada@example.com", confirmed=False)

    message = notice_email(subscriber, Notice.CONFIRM)

    html = message.alternatives[0][0]
    assert isinstance(html, str)
    assert 'src="https://status.example.com/branding/acme-mail.png"' in html
    buttons = [text.strip() for href, text in visible(html).links if "/confirm/" in href]
    assert buttons == ["Confirm my subscription"]
    assert message.subject == "Confirm your subscription to Acme Status"
