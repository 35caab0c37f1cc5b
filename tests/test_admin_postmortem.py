"""The postmortem editor: save a draft, preview, publish only once the incident is resolved."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import Incident
from tests.factories import make_incident, make_maintenance

pytestmark = pytest.mark.django_db

POSTMORTEM = "## What happened\n\nA bad deploy.\n\n- rolled back\n- added a check\n"


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    # The production storage needs a collectstatic manifest; pages under test need none.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    return client


def _url(incident: Incident) -> str:
    return reverse("admin:incidents_incident_postmortem", args=[incident.pk])


def _resolved_incident() -> Incident:
    incident = make_incident()
    services.incident_resolve(incident=incident, body="Fixed.")
    incident.refresh_from_db()
    return incident


def test_the_incident_page_links_to_the_postmortem_editor(staff: Client) -> None:
    incident = make_incident()
    page = staff.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    assert _url(incident) in page.content.decode()


def test_it_saves_a_draft_postmortem_without_publishing(staff: Client) -> None:
    incident = make_incident()
    response = staff.post(_url(incident), {"body": POSTMORTEM, "_save": "Save the draft"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.postmortem_body == POSTMORTEM
    assert incident.postmortem_published_at is None
    assert incident.status == "investigating"


def test_the_preview_renders_and_saves_nothing(staff: Client) -> None:
    incident = _resolved_incident()
    response = staff.post(_url(incident), {"body": POSTMORTEM, "_preview": "Preview"})
    assert response.status_code == 200
    assert "<h2>What happened</h2>" in response.content.decode()
    incident.refresh_from_db()
    assert incident.postmortem_body == ""


def test_it_refuses_to_publish_the_postmortem_of_an_unresolved_incident(staff: Client) -> None:
    incident = make_incident()
    response = staff.post(_url(incident), {"body": POSTMORTEM, "_publish": "Publish"})
    assert response.status_code == 200
    assert "Resolve the incident before publishing its postmortem." in response.content.decode()
    incident.refresh_from_db()
    assert incident.postmortem_published_at is None
    assert incident.status == "investigating"


def test_it_publishes_the_postmortem_of_a_resolved_incident(staff: Client) -> None:
    incident = _resolved_incident()
    response = staff.post(
        _url(incident), {"body": POSTMORTEM, "_publish": "Publish", "deliver_notifications": "on"}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "postmortem"
    assert incident.postmortem_published_at is not None
    assert incident.postmortem_body == POSTMORTEM


def test_an_empty_postmortem_cannot_be_published(staff: Client) -> None:
    incident = _resolved_incident()
    response = staff.post(_url(incident), {"body": "  ", "_publish": "Publish"})
    assert response.status_code == 200
    assert "The postmortem is empty." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_maintenances_have_no_postmortem_page(staff: Client) -> None:
    maintenance = make_maintenance()
    response = staff.get(_url(maintenance))
    # The incidents admin does not know maintenances: it sends staff back to its list.
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
