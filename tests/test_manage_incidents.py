"""Incidents, maintenances, updates and postmortems through the Manage API, over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.models import EventKind, Incident, OutboxEvent
from statuspage.models import ComponentStatusChange
from tests.factories import make_component, make_incident
from tests.manage_api import ManageClient, key_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(live_server, db) -> ManageClient:
    return ManageClient(live_server.url, key_for(User.objects.create_superuser("oncall")))


def test_it_opens_updates_and_resolves_an_incident_with_component_statuses(api):
    database = make_component("Database")
    created = api.post(
        "/incidents",
        json={
            "incident": {
                "name": "Database unreachable",
                "status": "investigating",
                "body": "We are looking into it.",
                "component_ids": [database.public_id],
                "components": {database.public_id: "major_outage"},
                "metadata": {"alertmanager": {"fingerprint": "abc"}},
                "wants_twitter_update": True,
            }
        },
    )
    assert created.status_code == 201, created.text
    incident = created.json()
    assert incident["impact"] == "major"
    assert incident["metadata"] == {"alertmanager": {"fingerprint": "abc"}}
    assert incident["components"][0]["status"] == "major_outage"
    database.refresh_from_db()
    assert database.status == "major_outage"

    updated = api.patch(
        f"/incidents/{incident['id']}",
        json={
            "incident": {
                "status": "identified",
                "body": "A failed disk.",
                "components": {database.public_id: "partial_outage"},
            }
        },
    )
    assert updated.status_code == 200
    assert [u["status"] for u in updated.json()["incident_updates"]] == [
        "identified",
        "investigating",
    ]
    database.refresh_from_db()
    assert database.status == "partial_outage"

    resolved = api.patch(
        f"/incidents/{incident['id']}",
        json={"incident": {"status": "resolved", "body": "Replaced the disk."}},
    )
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_at"] is not None
    database.refresh_from_db()
    assert database.status == "operational"
    # Through the services: history, outbox and the admin's log all saw it.
    assert ComponentStatusChange.objects.filter(component=database).count() == 3
    kinds = list(OutboxEvent.objects.values_list("kind", flat=True))
    assert kinds.count(EventKind.INCIDENT_CREATED) == 1
    assert kinds.count(EventKind.INCIDENT_UPDATED) == 2
    messages = [e.get_change_message() for e in LogEntry.objects.all()]
    assert len(messages) == 3 and all("Through the API" in m for m in messages)


def test_a_rails_style_form_body_opens_an_incident(api):
    web = make_component("Web")
    answer = api.post(
        "/incidents",
        content=(
            "incident[name]=Slow+pages&incident[status]=identified&incident[body]=Slow."
            f"&incident[component_ids][]={web.public_id}"
            f"&incident[components][{web.public_id}]=degraded_performance"
            "&incident[deliver_notifications]=false"
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "identified"
    web.refresh_from_db()
    assert web.status == "degraded_performance"
    assert not OutboxEvent.objects.exists()


def test_a_bad_component_status_leaves_nothing_half_done(api):
    web = make_component("Web")
    answer = api.post(
        "/incidents",
        json={"incident": {"name": "x", "components": {web.public_id: "broken"}}},
    )
    assert answer.status_code == 422
    assert not Incident.objects.exists()


def test_an_unknown_component_id_in_the_body_gets_422(api):
    incident = make_incident()
    answer = api.post(
        "/incidents",
        json={"incident": {"name": "x", "component_ids": [incident.public_id]}},
    )
    assert answer.status_code == 422
    assert Incident.objects.count() == 1


def test_a_missing_name_gets_422_with_a_list_of_messages(api):
    answer = api.post("/incidents", json={"incident": {"status": "investigating"}})
    assert answer.status_code == 422
    assert answer.json() == {"error": ["name can't be blank"]}


def test_it_schedules_a_maintenance(api):
    web = make_component("Web")
    starts = timezone.now() + dt.timedelta(days=1)
    answer = api.post(
        "/incidents",
        json={
            "incident": {
                "name": "Upgrade",
                "status": "scheduled",
                "scheduled_for": starts.isoformat(),
                "scheduled_until": (starts + dt.timedelta(hours=2)).isoformat(),
                "component_ids": [web.public_id],
                "scheduled_auto_in_progress": True,
            }
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "scheduled"
    assert body["impact"] == "maintenance"
    assert body["scheduled_auto_in_progress"] is True
    upcoming = api.get("/incidents/upcoming").json()
    assert [m["id"] for m in upcoming] == [body["id"]]


def test_a_maintenance_without_an_end_gets_422(api):
    answer = api.post(
        "/incidents",
        json={
            "incident": {"name": "Upgrade", "status": "scheduled", "scheduled_for": "2030-01-01"}
        },
    )
    assert answer.status_code == 422
    assert not Incident.objects.exists()


def test_unresolved_lists_open_incidents_only(api):
    open_one = make_incident("Open")
    closed = make_incident("Closed")
    from incidents.services import incident_resolve

    incident_resolve(incident=closed, body="Fixed.")
    ids = [i["id"] for i in api.get("/incidents/unresolved").json()]
    assert ids == [open_one.public_id]


def test_it_corrects_an_update(api):
    incident = make_incident()
    update = incident.updates.get()
    answer = api.patch(
        f"/incidents/{incident.public_id}/incident_updates/{update.public_id}",
        json={"incident_update": {"body": "Corrected text."}},
    )
    assert answer.status_code == 200
    assert answer.json()["body"] == "Corrected text."


def test_it_drafts_publishes_and_reverts_a_postmortem(api):
    incident = make_incident()
    assert (
        api.put(f"/incidents/{incident.public_id}/postmortem/publish", json={}).status_code == 422
    )  # not resolved yet
    api.patch(f"/incidents/{incident.public_id}", json={"incident": {"status": "resolved"}})
    draft = api.put(
        f"/incidents/{incident.public_id}/postmortem",
        json={"postmortem": {"body_draft": "## What happened\n\nA disk failed."}},
    )
    assert draft.status_code == 200
    assert draft.json()["published_at"] is None
    published = api.put(
        f"/incidents/{incident.public_id}/postmortem/publish",
        json={"postmortem": {"notify_subscribers": True, "notify_twitter": False}},
    )
    assert published.status_code == 200
    assert published.json()["body"].startswith("## What happened")
    incident.refresh_from_db()
    assert incident.status == "postmortem"
    assert OutboxEvent.objects.filter(kind=EventKind.POSTMORTEM_PUBLISHED).exists()
    reverted = api.put(f"/incidents/{incident.public_id}/postmortem/revert")
    assert reverted.json()["published_at"] is None
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert api.delete(f"/incidents/{incident.public_id}/postmortem").json()["body_draft"] is None


def test_deleting_an_incident_answers_it_and_releases_its_components(api):
    web = make_component("Web")
    incident = make_incident(components={web: "major_outage"})
    answer = api.delete(f"/incidents/{incident.public_id}")
    assert answer.status_code == 200
    assert answer.json()["id"] == incident.public_id
    assert not Incident.objects.exists()
    web.refresh_from_db()
    assert web.status == "operational"
