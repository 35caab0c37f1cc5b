"""A Statuspage client library pointed at a running instance: crunch-statuspageio 0.7.

The library lets its base URL be set (`Client(base_url=...)`, to which it adds `/v1`) and asks
for paths ending in `.json`, which the Manage API answers like the plain ones. Its services
cover components (list, create, update), incidents (create, update, scheduled maintenance,
the lists) and the correction of an update. Two things it has no call for are sent through
its own lower-level HTTP client (`client.http_client`, which adds the same `OAuth` key and
`{"container": ...}` envelope as its services):

- the `components` map of an incident (`{component_id: status}`): its `incidents.create` and
  `incidents.update` keep only `component_ids` and drop every other key;
- postmortems (draft and publish).
"""

from __future__ import annotations

import datetime as dt

import pytest
import statuspageio
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.models import EventKind, Incident, OutboxEvent
from statuspage.models import Component, ComponentStatusChange
from tests.manage_api import key_for, user_with

pytestmark = pytest.mark.django_db(transaction=True)


def library_client(base_url: str, key: str) -> statuspageio.Client:
    return statuspageio.Client(
        api_key=key, page_id=settings.STATUSPAGE_ID, base_url=f"{base_url}/api", timeout=30
    )


@pytest.fixture
def client(live_server, db) -> statuspageio.Client:
    return library_client(live_server.url, key_for(User.objects.create_superuser("pipeline")))


def test_the_library_lists_creates_and_updates_components(client):
    created = client.components.create(
        name="Database", description="The primary cluster", status="operational", showcase=True
    )
    assert created.name == "Database"
    assert created.status == "operational"
    assert created.page_id == client.pages.page_id

    listed = client.components.list()
    assert [c.id for c in listed] == [created.id]

    updated = client.components.update(
        created.id, status="degraded_performance", description="Primary and replicas"
    )
    assert updated.status == "degraded_performance"
    assert updated.description == "Primary and replicas"
    assert client.components.get(created.id).status == "degraded_performance"
    row = Component.objects.get(public_id=created.id)
    assert row.status == "degraded_performance"
    # A status change made through the library is staff's change: history and subscribers told.
    assert ComponentStatusChange.objects.filter(component=row).count() == 1
    assert OutboxEvent.objects.filter(kind=EventKind.COMPONENT_STATUS_CHANGED).exists()


def test_the_library_opens_updates_and_resolves_an_incident_with_component_statuses(client):
    database = client.components.create(name="Database", status="operational")
    api = client.components.create(name="API", status="operational")
    page = client.pages.page_id

    # Opening with component statuses: the library's incidents.create drops `components`.
    _, _, opened = client.http_client.post(
        f"/pages/{page}/incidents.json",
        container="incident",
        body={
            "name": "Database unreachable",
            "status": "investigating",
            "body": "Connections time out.",
            "component_ids": [database.id, api.id],
            "components": {database.id: "major_outage", api.id: "degraded_performance"},
        },
    )
    assert opened.status == "investigating"
    assert opened.impact == "major"
    assert {c.id: c.status for c in opened.components} == {
        database.id: "major_outage",
        api.id: "degraded_performance",
    }
    assert [i.id for i in client.incidents.list_unresolved()] == [opened.id]

    # An update through the library's own call (status and body).
    identified = client.incidents.update(
        opened.id, status="identified", body="A failed disk on the primary."
    )
    assert identified.status == "identified"

    # An update that changes component statuses, through the lower-level client.
    _, _, monitoring = client.http_client.patch(
        f"/pages/{page}/incidents/{opened.id}.json",
        container="incident",
        body={
            "status": "monitoring",
            "body": "Failed over to a replica.",
            "components": {database.id: "partial_outage", api.id: "operational"},
        },
    )
    assert monitoring.status == "monitoring"
    assert client.components.get(database.id).status == "partial_outage"
    assert client.components.get(api.id).status == "operational"

    resolved = client.incidents.update(opened.id, status="resolved", body="The disk is replaced.")
    assert resolved.status == "resolved"
    assert resolved.resolved_at is not None
    assert [u.status for u in resolved.incident_updates] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    assert client.components.get(database.id).status == "operational"
    assert client.incidents.list_unresolved() == []

    # The library's correction of an earlier update.
    first = resolved.incident_updates[-1]
    corrected = client.incidents.update_previous(
        opened.id, first.id, body="Connections to the database time out."
    )
    assert corrected.body == "Connections to the database time out."

    kinds = list(OutboxEvent.objects.values_list("kind", flat=True))
    assert kinds.count(EventKind.INCIDENT_CREATED) == 1
    assert kinds.count(EventKind.INCIDENT_UPDATED) == 3
    assert all(
        "Through the API" in entry.get_change_message()
        for entry in LogEntry.objects.filter(content_type__app_label="incidents")
    )


def test_the_library_schedules_a_maintenance(client):
    database = client.components.create(name="Database", status="operational")
    starts = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    ends = starts + dt.timedelta(hours=2)
    scheduled = client.incidents.create_scheduled(
        name="Database upgrade",
        status="scheduled",
        body="The database is read-only during the upgrade.",
        scheduled_for=starts.isoformat(),
        scheduled_until=ends.isoformat(),
        scheduled_auto_in_progress=True,
        scheduled_auto_completed=True,
        component_ids=[database.id],
    )
    assert scheduled.status == "scheduled"
    assert scheduled.impact == "maintenance"
    assert dt.datetime.fromisoformat(scheduled.scheduled_for) == starts
    assert dt.datetime.fromisoformat(scheduled.scheduled_until) == ends
    assert [c.id for c in scheduled.components] == [database.id]
    assert [m.id for m in client.incidents.list_upcoming()] == [scheduled.id]
    assert [m.id for m in client.incidents.list_scheduled()] == [scheduled.id]
    assert client.incidents.list_active_maintenance() == []
    assert Incident.objects.get(public_id=scheduled.id).is_maintenance


def test_the_library_publishes_a_postmortem(client):
    page = client.pages.page_id
    opened = client.incidents.create(name="Slow pages", status="identified", body="Slow.")
    client.incidents.update(opened.id, status="resolved", body="Fast again.")

    # Postmortems: the library has no call for them.
    _, _, draft = client.http_client.put(
        f"/pages/{page}/incidents/{opened.id}/postmortem.json",
        container="postmortem",
        body={"body_draft": "## What happened\n\nA cache node was lost."},
    )
    assert draft.published_at is None
    _, _, published = client.http_client.put(
        f"/pages/{page}/incidents/{opened.id}/postmortem/publish.json",
        container="postmortem",
        body={"notify_subscribers": True, "notify_twitter": False},
    )
    assert published.published_at is not None
    assert published.body.startswith("## What happened")
    assert Incident.objects.get(public_id=opened.id).status == "postmortem"
    assert OutboxEvent.objects.filter(kind=EventKind.POSTMORTEM_PUBLISHED).count() == 1


def test_the_library_reads_our_errors(live_server, db, client):
    # A refused value is the library's ResourceError, carrying our messages.
    with pytest.raises(statuspageio.ResourceError) as refused:
        client.components.create(name="Database", status="on_fire")
    assert refused.value.http_status == 422
    assert refused.value.errors["error"][0].startswith("status is not included in the list")
    assert not Component.objects.exists()
    # A key that may only read gets 403 on a write: its RequestError.
    reader = library_client(
        live_server.url, key_for(user_with("statuspage.view_component", username="viewer"))
    )
    assert reader.components.list() == []
    with pytest.raises(statuspageio.RequestError) as forbidden:
        reader.components.create(name="Database")
    assert forbidden.value.http_status == 403
    assert not Component.objects.exists()
