"""The maintenance admin: schedule, start, post a verifying update, complete."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from tests.factories import make_component, make_incident, make_maintenance

pytestmark = pytest.mark.django_db


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


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def _url(maintenance: Incident) -> str:
    return reverse("admin:incidents_maintenance_change", args=[maintenance.pk])


def test_it_schedules_a_maintenance(staff: Client) -> None:
    db = make_component("Database")
    start = (timezone.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    response = staff.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Database upgrade",
            "body": "We upgrade the database.",
            "scheduled_for": _local(start),
            "scheduled_until": _local(start + dt.timedelta(hours=2)),
            "components": [db.pk],
            "deliver_notifications": "on",
        },
    )
    maintenance = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url(maintenance)
    assert maintenance.kind == "maintenance"
    assert maintenance.status == "scheduled"
    assert maintenance.scheduled_for == start
    assert maintenance.scheduled_until == start + dt.timedelta(hours=2)
    assert not maintenance.auto_transition
    assert list(maintenance.components.all()) == [db]
    db.refresh_from_db()
    assert db.status == "operational"


def test_a_window_that_ends_before_it_starts_is_a_form_error(staff: Client) -> None:
    start = timezone.now() + dt.timedelta(days=1)
    response = staff.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Backwards",
            "body": "Nope.",
            "scheduled_for": _local(start),
            "scheduled_until": _local(start - dt.timedelta(hours=1)),
        },
    )
    assert response.status_code == 200
    assert "A maintenance window must end after it starts." in response.content.decode()
    assert not Incident.objects.exists()


def test_it_starts_verifies_and_completes_a_maintenance(staff: Client) -> None:
    db = make_component("Database")
    maintenance = make_maintenance(components=[db])

    # Starting with no message posts the standard one.
    response = staff.post(_url(maintenance), {"status": "in_progress", "body": ""})
    assert response.status_code == 302
    maintenance.refresh_from_db()
    db.refresh_from_db()
    assert maintenance.status == "in_progress"
    assert db.status == "under_maintenance"
    assert "in progress" in maintenance.updates.latest("display_at", "id").body

    staff.post(_url(maintenance), {"status": "verifying", "body": "Checking that all is well."})
    maintenance.refresh_from_db()
    db.refresh_from_db()
    assert maintenance.status == "verifying"
    assert db.status == "under_maintenance"
    assert maintenance.updates.latest("display_at", "id").body == "Checking that all is well."

    staff.post(_url(maintenance), {"status": "completed", "body": "All done."})
    maintenance.refresh_from_db()
    db.refresh_from_db()
    assert maintenance.status == "completed"
    assert maintenance.resolved_at is not None
    assert db.status == "operational"
    assert list(maintenance.updates.values_list("status", flat=True)) == [
        "completed",
        "verifying",
        "in_progress",
        "scheduled",
    ]
    page = staff.get(_url(maintenance)).content.decode()
    assert page.index("All done.") < page.index("Checking that all is well.")


def test_completing_leaves_a_component_another_incident_holds(staff: Client) -> None:
    db = make_component("Database")
    maintenance = make_maintenance(components=[db])
    staff.post(_url(maintenance), {"status": "in_progress", "body": ""})
    make_incident(components={db: "major_outage"})
    staff.post(_url(maintenance), {"status": "completed", "body": ""})
    db.refresh_from_db()
    assert db.status == "major_outage"


def test_a_verifying_update_needs_a_message(staff: Client) -> None:
    maintenance = make_maintenance()
    staff.post(_url(maintenance), {"status": "in_progress", "body": ""})
    response = staff.post(_url(maintenance), {"status": "verifying", "body": ""})
    assert response.status_code == 200
    assert "An update needs a message." in response.content.decode()
    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"


def test_the_preview_saves_nothing(staff: Client) -> None:
    maintenance = make_maintenance()
    response = staff.post(
        _url(maintenance), {"status": "in_progress", "body": "Starting *now*.", "_preview": "1"}
    )
    assert response.status_code == 200
    assert "Starting <em>now</em>." in response.content.decode()
    maintenance.refresh_from_db()
    assert maintenance.status == "scheduled"


def test_the_maintenance_list_leaves_out_incidents(staff: Client) -> None:
    make_incident("An incident")
    make_maintenance("A maintenance")
    response = staff.get(reverse("admin:incidents_maintenance_changelist"))
    assert [m.name for m in response.context["cl"].result_list] == ["A maintenance"]


def _edit_url(maintenance: Incident) -> str:
    return reverse("admin:incidents_maintenance_edit", args=[maintenance.pk])


def test_it_renames_and_reschedules_a_maintenance_and_tells_subscribers(staff: Client) -> None:
    from incidents.models import OutboxEvent

    maintenance = make_maintenance()
    assert _edit_url(maintenance) in staff.get(_url(maintenance)).content.decode()
    assert maintenance.scheduled_for is not None
    start = (maintenance.scheduled_for + dt.timedelta(days=7)).replace(second=0, microsecond=0)
    events = OutboxEvent.objects.count()

    response = staff.post(
        _edit_url(maintenance),
        {
            "name": "Database upgrade (moved)",
            "scheduled_for": _local(start),
            "scheduled_until": _local(start + dt.timedelta(hours=3)),
            "body": "We moved this maintenance by a week.",
            "deliver_notifications": "on",
        },
    )

    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert maintenance.name == "Database upgrade (moved)"
    assert (maintenance.scheduled_for, maintenance.scheduled_until) == (
        start,
        start + dt.timedelta(hours=3),
    )
    update = maintenance.updates.latest("display_at", "id")
    assert (update.status, update.body) == ("scheduled", "We moved this maintenance by a week.")
    assert OutboxEvent.objects.count() == events + 1
    public = Client().get(maintenance.get_absolute_url()).content.decode()
    assert "Database upgrade (moved)" in public and "We moved this maintenance" in public


def test_a_reschedule_without_a_message_posts_no_update(staff: Client) -> None:
    maintenance = make_maintenance()
    assert maintenance.scheduled_for is not None
    start = (maintenance.scheduled_for + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    response = staff.post(
        _edit_url(maintenance),
        {
            "name": maintenance.name,
            "scheduled_for": _local(start),
            "scheduled_until": _local(start + dt.timedelta(hours=1)),
            "body": "",
            "deliver_notifications": "on",
        },
    )
    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert maintenance.scheduled_for == start
    assert maintenance.updates.count() == 1  # the announcement only


def test_a_running_maintenance_can_only_move_its_end(staff: Client) -> None:
    from incidents import services

    maintenance = make_maintenance()
    services.maintenance_start(maintenance=maintenance)
    maintenance.refresh_from_db()
    started = maintenance.scheduled_for
    assert started is not None and maintenance.scheduled_until is not None
    form = staff.get(_edit_url(maintenance)).content.decode()
    assert "only the end can move" in form
    end = (maintenance.scheduled_until + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    response = staff.post(
        _edit_url(maintenance),
        {
            "name": maintenance.name,
            "scheduled_for": _local(started - dt.timedelta(days=1)),  # ignored: the field is off
            "scheduled_until": _local(end),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    maintenance.refresh_from_db()
    assert (maintenance.scheduled_for, maintenance.scheduled_until) == (started, end)


def test_a_window_ending_before_it_starts_or_a_completed_one_is_refused(staff: Client) -> None:
    from incidents import services

    maintenance = make_maintenance()
    assert maintenance.scheduled_for is not None
    start = maintenance.scheduled_for.replace(second=0, microsecond=0)
    backwards = {
        "name": "Renamed",
        "scheduled_for": _local(start),
        "scheduled_until": _local(start - dt.timedelta(hours=1)),
    }
    response = staff.post(_edit_url(maintenance), backwards)
    assert response.status_code == 200
    assert "The window must end after it starts." in response.content.decode()

    services.maintenance_complete(maintenance=maintenance)
    later = {**backwards, "scheduled_until": _local(start + dt.timedelta(hours=5))}
    response = staff.post(_edit_url(maintenance), later)
    assert response.status_code == 200
    assert "A completed maintenance cannot be rescheduled." in response.content.decode()
    maintenance.refresh_from_db()
    assert maintenance.name == "Database upgrade"  # the rename rolled back with it


def test_deleting_a_running_maintenance_releases_its_components(staff: Client) -> None:
    from incidents import services

    db = make_component("Database")
    maintenance = make_maintenance(components=[db])
    services.maintenance_start(maintenance=maintenance)
    db.refresh_from_db()
    assert db.status == "under_maintenance"
    url = reverse("admin:incidents_maintenance_delete", args=[maintenance.pk])
    assert url in staff.get(_url(maintenance)).content.decode()

    assert staff.post(url, {"post": "yes"}).status_code == 302

    assert not Incident.objects.filter(pk=maintenance.pk).exists()
    db.refresh_from_db()
    assert db.status == "operational"
    assert not db.status_changes.exists()
