"""Control characters staff type (a vertical tab, an ESC, a CR LF in a name) are refused where
they are typed, and the feeds stay readable with any that got in before."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import feedparser
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Incident, IncidentStatus, IncidentTemplate, IncidentUpdate
from statuspage.models import Component, ComponentGroup
from statuspage.text import strip_control_characters
from tests.factories import make_group, make_incident

pytestmark = pytest.mark.django_db

ONE_LINE_REFUSED = [
    "API\x0berrors",
    "API \x1b[31merrors",
    "API errors\r\nBcc: everyone@example.com",
    "API\nerrors",
    "API\terrors",
    "API\x00",
    "API\x7ferrors",
    "API\x85errors",
]
MESSAGE_REFUSED = ["We are\x0b looking.", "We are \x1b[2J looking.", "Lone\rreturn", "\x9b31m"]


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    return client


def open_form(**changes: str) -> dict[str, str]:
    return {
        "name": "API errors",
        "impact": "major",
        "status": "investigating",
        "body": "We are looking into it.",
        **changes,
    }


def errors_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200, "the form was accepted"
    form = response.context["form"]
    return {name: list(messages) for name, messages in form.errors.items()}


def admin_errors_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200, "the form was accepted"
    form = response.context["adminform"].form
    return {name: list(messages) for name, messages in form.errors.items()}


@pytest.mark.parametrize("name", ONE_LINE_REFUSED)
def test_the_admin_refuses_an_incident_name_with_a_control_character(staff, name):
    response = staff.post(reverse("admin:incidents_incident_add"), open_form(name=name))
    messages = errors_of(response)["name"]
    assert any("one line of text, without control characters" in m for m in messages)
    assert not Incident.objects.exists()


def test_the_error_names_the_character_and_where_it_is(staff):
    response = staff.post(reverse("admin:incidents_incident_add"), open_form(name="API\x1berr"))
    assert errors_of(response)["name"] == [
        "Remove the control character U+001B at character 4: "
        "this is one line of text, without control characters."
    ]
    response = staff.post(reverse("admin:incidents_incident_add"), open_form(name="A\r\nBcc: x"))
    assert errors_of(response)["name"][0].startswith("Remove a carriage return at character 2")


@pytest.mark.parametrize("body", MESSAGE_REFUSED)
def test_the_admin_refuses_a_message_with_a_control_character(staff, body):
    response = staff.post(reverse("admin:incidents_incident_add"), open_form(body=body))
    (message,) = errors_of(response)["body"]
    assert "a message may hold line breaks and tabs" in message
    assert not Incident.objects.exists()


def test_a_message_keeps_its_lines_and_tabs_with_the_browsers_cr_lf_made_lf(staff):
    body = "We are looking.\r\n\r\n- step one\r\n- step\ttwo"
    response = staff.post(reverse("admin:incidents_incident_add"), open_form(body=body))
    assert response.status_code == 302
    update = IncidentUpdate.objects.get()
    assert update.body == "We are looking.\n\n- step one\n- step\ttwo"


def test_an_update_the_postmortem_and_a_rename_refuse_control_characters(staff):
    incident = make_incident()
    page = reverse("admin:incidents_incident_change", args=[incident.pk])
    response = staff.post(
        page, {"status": "identified", "body": "Found\x1b it.", "impact": "major"}
    )
    assert "body" in errors_of(response)
    services.incident_resolve(incident=incident, body="Fixed.")
    postmortem = reverse("admin:incidents_incident_postmortem", args=[incident.pk])
    response = staff.post(postmortem, {"body": "## What\x0b happened", "_save": "Save"})
    assert "body" in errors_of(response)
    edit = reverse("admin:incidents_incident_edit", args=[incident.pk])
    response = staff.post(edit, {"name": "Renamed\r\nX-Header: 1", "impact": "major"})
    assert "name" in errors_of(response)
    incident.refresh_from_db()
    assert incident.name == "Elevated API errors"
    assert incident.postmortem_body == ""
    assert incident.updates.count() == 2


def test_a_maintenance_refuses_control_characters_in_its_name_and_message(staff):
    start = timezone.now() + dt.timedelta(days=1)
    data = {
        "name": "Database\x0b upgrade",
        "body": "We upgrade\x1b the database.",
        "scheduled_for": timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": timezone.localtime(start + dt.timedelta(hours=2)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
    }
    response = staff.post(reverse("admin:incidents_maintenance_add"), data)
    assert set(errors_of(response)) == {"name", "body"}
    assert not Incident.objects.exists()


def test_a_template_refuses_control_characters(staff):
    response = staff.post(
        reverse("admin:incidents_incidenttemplate_add"),
        {
            "name": "Out\x85age",
            "incident_name": "API down\r\n",
            "status": "investigating",
            "impact": "major",
            "body": "We are\x0b looking.",
        },
    )
    errors = admin_errors_of(response)
    assert set(errors) >= {"name", "body"}
    assert not IncidentTemplate.objects.exists()


def test_a_component_and_a_group_refuse_control_characters(staff):
    response = staff.post(
        reverse("admin:statuspage_component_add"),
        {
            "name": "API\x1b[0m",
            "group": "",
            "description": "Our\x0b API.",
            "status": "operational",
            "status_note": "",
            "loaded_status": "operational",
            "position": 0,
            "start_date": "",
            "is_public": "on",
        },
    )
    assert set(admin_errors_of(response)) == {"name", "description"}
    assert not Component.objects.exists()
    response = staff.post(
        reverse("admin:statuspage_componentgroup_add"),
        {"name": "Core\nservices", "description": "", "position": 0, "is_public": "on"},
    )
    assert set(admin_errors_of(response)) == {"name"}
    assert not ComponentGroup.objects.exists()


def test_a_component_description_keeps_its_lines(staff):
    response = staff.post(
        reverse("admin:statuspage_componentgroup_add"),
        {
            "name": "Core",
            "description": "One.\r\nTwo.",
            "position": 0,
            "is_public": "on",
            "components-TOTAL_FORMS": 0,
            "components-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    assert ComponentGroup.objects.get().description == "One.\nTwo."


def test_model_validation_refuses_them_too():
    group = make_group("Core")
    group.name = "Core\x1b"
    with pytest.raises(ValidationError) as refused:
        group.full_clean()
    assert set(refused.value.message_dict) == {"name"}


@pytest.mark.parametrize(
    "write",
    [
        lambda: services.incident_open(name="API\r\nBcc: x", impact="major", body="Looking."),
        lambda: services.incident_open(name="API errors", impact="major", body="Look\x0bing."),
        lambda: services.incident_post_update(
            incident=make_incident(), status="identified", body="\x1b[31mFound"
        ),
        lambda: services.incident_edit(incident=make_incident(), name="Renamed\x07"),
        lambda: services.maintenance_schedule(
            name="Up\x0cgrade",
            body="We upgrade.",
            scheduled_for=timezone.now() + dt.timedelta(days=1),
            scheduled_until=timezone.now() + dt.timedelta(days=1, hours=1),
        ),
        lambda: services.incident_backfill(
            name="Past\x1b",
            impact="minor",
            body="It happened.",
            started_at=timezone.now() - dt.timedelta(hours=2),
            resolved_at=timezone.now() - dt.timedelta(hours=1),
        ),
        lambda: services.incident_save_postmortem(incident=make_incident(), body="Why\x0b"),
    ],
    ids=["name", "first-message", "update", "rename", "maintenance", "backfill", "postmortem"],
)
def test_the_services_refuse_control_characters(write):
    with pytest.raises(ValidationError) as refused:
        write()
    assert refused.value.code == "control_character"


def test_the_services_store_a_message_with_lf_line_breaks():
    incident = make_incident(body="Line one.\r\nLine two.")
    assert incident.updates.get().body == "Line one.\nLine two."


@pytest.mark.parametrize("url", ["/history.atom", "/history.rss"])
def test_the_feeds_stay_readable_with_control_characters_stored_before(client, url):
    incident = make_incident("Old outage")
    Incident.objects.filter(pk=incident.pk).update(name="Old\x0b outage\x1b")
    IncidentUpdate.objects.create(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="Found\x1b[31m it\x07.\r\nOK"
    )
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    (entry,) = feed.entries
    assert entry.title == "Old outage"
    content = html.unescape(entry.content[0].value if "content" in entry else entry.description)
    assert "Found[31m it." in content
    assert "\x1b" not in response.content.decode()


def test_stripping_keeps_lines_and_tabs():
    assert strip_control_characters("a\x0bb\x1bc\td\r\ne\x85") == "abc\td\ne"
