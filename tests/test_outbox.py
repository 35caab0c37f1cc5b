"""The services record what must be announced in the same transaction as the change."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services
from incidents.models import OutboxEvent
from incidents.outbox import event_recorded
from tests.factories import make_component, make_incident, make_maintenance

pytestmark = pytest.mark.django_db


def kinds() -> list[str]:
    return list(OutboxEvent.objects.order_by("id").values_list("kind", flat=True))


def test_opening_an_incident_records_its_creation_and_component_changes():
    api = make_component("API")
    make_incident(components={api: "major_outage"})
    assert kinds() == ["component_status_changed", "incident_created"]


def test_an_update_without_notify_records_nothing():
    incident = make_incident()
    OutboxEvent.objects.all().delete()
    services.incident_post_update(
        incident=incident, status="identified", body="Quiet note.", deliver_notifications=False
    )
    assert kinds() == []


def test_updates_resolution_and_postmortem_are_recorded():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    OutboxEvent.objects.all().delete()
    services.incident_post_update(incident=incident, status="identified", body="Found it.")
    services.incident_resolve(incident=incident, body="Fixed.")
    services.incident_publish_postmortem(incident=incident, body="Root cause.")
    assert kinds() == [
        "incident_updated",
        "component_status_changed",
        "incident_updated",
        "postmortem_published",
    ]


def test_a_draft_is_announced_only_when_published():
    api = make_component("API")
    incident = make_incident(is_draft=True, components={api: "major_outage"})
    assert kinds() == []
    services.incident_publish(incident=incident)
    assert kinds() == ["incident_created"]
    services.incident_publish(incident=incident)
    assert kinds() == ["incident_created"]


def test_maintenance_events_are_recorded():
    db = make_component("Database")
    maintenance = make_maintenance(components=[db], starts_in=dt.timedelta(minutes=-1))
    services.maintenance_start(maintenance=maintenance)
    services.maintenance_complete(maintenance=maintenance)
    assert kinds() == [
        "maintenance_scheduled",
        "component_status_changed",
        "maintenance_updated",
        "component_status_changed",
        "maintenance_updated",
    ]


def test_a_reminder_is_recorded_once_within_the_lead_time():
    maintenance = make_maintenance(starts_in=dt.timedelta(hours=3))
    lead = dt.timedelta(minutes=60)
    assert services.maintenance_record_reminders(lead_time=lead) == 0
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2, minutes=5)):
        assert services.maintenance_record_reminders(lead_time=lead) == 1
        assert services.maintenance_record_reminders(lead_time=lead) == 0
    assert (
        OutboxEvent.objects.filter(kind="maintenance_reminder", incident=maintenance).count() == 1
    )


def test_no_event_survives_a_failed_write():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    before = OutboxEvent.objects.count()
    with pytest.raises(ValidationError):
        services.incident_post_update(
            incident=incident, status="identified", body="", component_statuses={api: "operational"}
        )
    assert OutboxEvent.objects.count() == before


def test_listeners_hear_of_an_event_only_after_commit(django_capture_on_commit_callbacks):
    heard: list[int] = []

    def listener(sender, event_id, **kwargs):
        heard.append(event_id)

    event_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            make_incident()
        assert heard == []
        for callback in callbacks:
            callback()
    finally:
        event_recorded.disconnect(listener)
    assert heard == list(OutboxEvent.objects.values_list("id", flat=True))
