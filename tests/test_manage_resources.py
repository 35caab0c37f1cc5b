"""Components, groups, uptime, templates, subscribers and the page through the Manage API."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from incidents.models import EventKind, IncidentTemplate, OutboxEvent
from notifications.models import Subscriber
from statuspage.models import Component, ComponentGroup, ComponentStatusChange
from tests.factories import make_component, make_group
from tests.manage_api import ManageClient, key_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(live_server, db) -> ManageClient:
    return ManageClient(live_server.url, key_for(User.objects.create_superuser("ops")))


def test_it_creates_lists_updates_and_deletes_components(api):
    created = api.post(
        "/components",
        json={
            "component": {
                "name": "Search",
                "description": "Full-text search",
                "status": "degraded_performance",
            }
        },
    )
    assert created.status_code == 201, created.text
    component = created.json()
    assert component["status"] == "degraded_performance"
    assert component["page_id"] == settings.STATUSPAGE_ID
    listed = api.get("/components.json").json()
    assert [c["id"] for c in listed] == [component["id"]]
    changed = api.patch(
        f"/components/{component['id']}", json={"component": {"status": "major_outage"}}
    )
    assert changed.json()["status"] == "major_outage"
    # As staff's change: a history row, and the component's subscribers told.
    row = Component.objects.get(public_id=component["id"])
    assert ComponentStatusChange.objects.filter(component=row).count() == 2
    assert OutboxEvent.objects.filter(kind=EventKind.COMPONENT_STATUS_CHANGED).count() == 2
    deleted = api.delete(f"/components/{component['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["id"] == component["id"]
    assert not Component.objects.exists()


def test_a_component_without_a_name_gets_422(api):
    answer = api.post("/components", json={"component": {"description": "x"}})
    assert answer.status_code == 422
    assert answer.json() == {"error": ["name can't be blank"]}


def test_a_body_without_its_object_gets_422(api):
    assert api.post("/components", json={"name": "x"}).status_code == 422


def test_it_creates_and_changes_a_component_group(api):
    first, second = make_component("EU"), make_component("US")
    created = api.post(
        "/component-groups",
        json={
            "component_group": {"name": "Regions", "components": [first.public_id]},
            "description": "Where",
        },
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["components"] == [first.public_id]
    assert group["description"] == "Where"
    changed = api.patch(
        f"/component-groups/{group['id']}",
        json={"component_group": {"components": [second.public_id]}},
    )
    assert changed.json()["components"] == [second.public_id]
    first.refresh_from_db()
    assert first.group is None
    assert api.delete(f"/component-groups/{group['id']}").status_code == 200
    assert not ComponentGroup.objects.exists()
    assert Component.objects.count() == 2


def test_a_group_naming_an_unknown_component_gets_422_and_is_not_made(api):
    group = make_group("Other")
    answer = api.post(
        "/component-groups",
        json={"component_group": {"name": "Regions", "components": [group.public_id]}},
    )
    assert answer.status_code == 422
    assert ComponentGroup.objects.count() == 1


def test_uptime_of_a_component_and_a_group(api):
    group = make_group("Regions")
    component = make_component("EU", group=group)
    answer = api.get(f"/components/{component.public_id}/uptime", params={"start": "2020-01"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["uptime_percentage"] == 100.0
    assert body["warnings"]  # the range began before the component did
    assert api.get(f"/component-groups/{group.public_id}/uptime").status_code == 200
    assert (
        api.get(f"/components/{component.public_id}/uptime", params={"start": "May"}).status_code
        == 422
    )


def test_it_creates_and_lists_incident_templates(api):
    web = make_component("Web")
    created = api.post(
        "/incident_templates",
        json={
            "template": {
                "name": "Web down",
                "title": "The website is down",
                "body": "We are looking into it.",
                "update_status": "investigating",
                "component_ids": [web.public_id],
                "should_tweet": False,
            }
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["components"][0]["id"] == web.public_id
    assert [t["name"] for t in api.get("/incident_templates").json()] == ["Web down"]
    again = api.post(
        "/incident_templates",
        json={
            "template": {"name": "Web down", "title": "x", "body": "y", "update_status": "resolved"}
        },
    )
    assert again.status_code == 422
    assert IncidentTemplate.objects.count() == 1


def test_subscribers_are_created_counted_changed_and_unsubscribed(api):
    web = make_component("Web")
    hook = api.post(
        "/subscribers",
        json={
            "subscriber": {
                "endpoint": "https://hooks.example.com/status",
                "component_ids": [web.public_id],
            }
        },
    )
    assert hook.status_code == 201, hook.text
    assert hook.json()["mode"] == "webhook"
    email = api.post("/subscribers", json={"subscriber": {"email": "ops@example.com"}})
    assert email.status_code == 201, email.text
    assert email.json()["state"] == "unconfirmed"  # confirms by its own link
    assert api.get("/subscribers/count").json() == {"count": 1}
    assert api.get("/subscribers/count", params={"state": "all"}).json() == {"count": 2}
    assert api.get("/subscribers", params={"type": "fax"}).status_code == 422
    changed = api.patch(f"/subscribers/{hook.json()['id']}", json={"component_ids": []})
    assert changed.json()["components"] == []
    gone = api.post("/subscribers/unsubscribe", json={"subscribers": [hook.json()["id"]]})
    assert gone.status_code == 202
    assert not Subscriber.objects.active().exists()
    assert api.post(f"/subscribers/{email.json()['id']}/resend_confirmation").status_code == 201


def test_the_page_lists_our_one_page(api):
    pages = api.get("pages").json()
    assert [p["id"] for p in pages] == [settings.STATUSPAGE_ID]
    assert api.get(f"pages/{settings.STATUSPAGE_ID}").json()["name"] == settings.STATUSPAGE_NAME
