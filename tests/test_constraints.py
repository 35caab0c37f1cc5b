"""The database itself refuses bad rows: CHECK, UNIQUE and NOT NULL constraints."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.models import Incident, IncidentComponent, IncidentUpdate
from statuspage.models import Component, ComponentStatusChange, UptimeDay
from tests.factories import make_component, make_incident

pytestmark = pytest.mark.django_db


def refused(callable_) -> bool:
    try:
        with transaction.atomic():
            callable_()
    except IntegrityError:
        return True
    return False


def test_a_component_status_must_be_one_of_the_five():
    assert refused(lambda: Component.objects.create(name="API", status="on_fire"))


def test_a_component_needs_a_name():
    assert refused(lambda: Component.objects.create(name=""))


def test_a_status_change_must_change_something():
    api = make_component()
    assert refused(
        lambda: ComponentStatusChange.objects.create(
            component=api, from_status="operational", to_status="operational", reason="manual"
        )
    )


def test_a_status_change_needs_a_known_reason():
    api = make_component()
    assert refused(
        lambda: ComponentStatusChange.objects.create(
            component=api, from_status="operational", to_status="major_outage", reason="gremlins"
        )
    )


def test_one_rollup_row_per_component_and_day():
    api = make_component()
    UptimeDay.objects.create(component=api, date=dt.date(2026, 1, 1), major_outage_seconds=10)
    assert refused(lambda: UptimeDay.objects.create(component=api, date=dt.date(2026, 1, 1)))


def test_a_rollup_day_cannot_hold_more_than_a_day():
    api = make_component()
    assert refused(
        lambda: UptimeDay.objects.create(
            component=api, date=dt.date(2026, 1, 1), major_outage_seconds=200_000
        )
    )


def test_an_incident_status_must_match_its_kind():
    assert refused(lambda: Incident.objects.create(name="x", kind="incident", status="in_progress"))
    now = timezone.now()
    assert refused(
        lambda: Incident.objects.create(
            name="x",
            kind="maintenance",
            status="investigating",
            scheduled_for=now,
            scheduled_until=now + dt.timedelta(hours=1),
        )
    )


def test_an_incident_impact_must_be_known():
    assert refused(lambda: Incident.objects.create(name="x", status="investigating", impact="meh"))


def test_a_maintenance_needs_a_window_that_ends_after_it_starts():
    now = timezone.now()
    assert refused(
        lambda: Incident.objects.create(name="x", kind="maintenance", status="scheduled")
    )
    assert refused(
        lambda: Incident.objects.create(
            name="x", kind="maintenance", status="scheduled", scheduled_for=now, scheduled_until=now
        )
    )


def test_an_incident_has_no_window():
    now = timezone.now()
    assert refused(
        lambda: Incident.objects.create(
            name="x", status="investigating", scheduled_for=now, scheduled_until=now
        )
    )


def test_resolved_at_is_set_exactly_when_closed():
    assert refused(lambda: Incident.objects.create(name="x", status="resolved"))
    assert refused(
        lambda: Incident.objects.create(
            name="x", status="investigating", resolved_at=timezone.now()
        )
    )


def test_an_incident_cannot_end_before_it_starts():
    now = timezone.now()
    assert refused(
        lambda: Incident.objects.create(
            name="x", status="resolved", started_at=now, resolved_at=now - dt.timedelta(minutes=1)
        )
    )


def test_a_postmortem_status_needs_a_published_postmortem_with_a_body():
    now = timezone.now()
    assert refused(lambda: Incident.objects.create(name="x", status="postmortem", resolved_at=now))
    assert refused(
        lambda: Incident.objects.create(
            name="x",
            status="postmortem",
            resolved_at=now,
            postmortem_published_at=now,
            postmortem_body="",
        )
    )


def test_a_component_is_affected_once_per_incident():
    api = make_component()
    incident = make_incident(components={api: "major_outage"})
    assert refused(
        lambda: IncidentComponent.objects.create(
            incident=incident, component=api, status="partial_outage"
        )
    )


def test_an_update_status_must_be_known():
    incident = make_incident()
    assert refused(
        lambda: IncidentUpdate.objects.create(incident=incident, status="fixed", body="x")
    )


def test_public_ids_are_unique_and_opaque():
    first, second = make_component(), make_component()
    assert first.public_id != second.public_id
    assert len(first.public_id) == 12 and first.public_id.isalnum()
    assert first.public_id == first.public_id.lower()
    assert refused(lambda: Component.objects.create(name="Dup", public_id=first.public_id))


def test_a_component_in_use_cannot_be_deleted():
    api = make_component()
    make_incident(components={api: "major_outage"})
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        api.delete()
