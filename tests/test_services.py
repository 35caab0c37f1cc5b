"""The incident and maintenance services: what each write does to incidents and components."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services
from incidents.models import Incident, IncidentUpdate
from statuspage.models import ComponentStatusChange
from tests.factories import make_component, make_incident, make_maintenance

pytestmark = pytest.mark.django_db


def test_opening_an_incident_sets_component_statuses_and_records_history():
    api = make_component("API")
    dashboard = make_component("Dashboard")

    incident = make_incident(components={api: "major_outage", dashboard: "degraded_performance"})

    api.refresh_from_db()
    dashboard.refresh_from_db()
    assert api.status == "major_outage"
    assert dashboard.status == "degraded_performance"
    change = ComponentStatusChange.objects.get(component=api)
    assert (change.from_status, change.to_status, change.reason) == (
        "operational",
        "major_outage",
        "incident",
    )
    assert change.incident_public_id == incident.public_id
    update = incident.updates.get()
    assert update.status == "investigating"
    assert {
        (c.component_id, c.old_status, c.new_status) for c in update.component_changes.all()
    } == {
        (api.pk, "operational", "major_outage"),
        (dashboard.pk, "operational", "degraded_performance"),
    }


def test_posting_an_update_changes_status_and_keeps_the_timeline_newest_first():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        services.incident_post_update(
            incident=incident,
            status="identified",
            body="A failed database node.",
            component_statuses={api: "partial_outage"},
        )
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        services.incident_post_update(
            incident=incident, status="monitoring", body="Failover complete."
        )

    incident.refresh_from_db()
    api.refresh_from_db()
    assert incident.status == "monitoring"
    assert incident.monitoring_at is not None
    assert api.status == "partial_outage"
    assert [u.status for u in incident.updates.all()] == [
        "monitoring",
        "identified",
        "investigating",
    ]


def test_resolving_an_incident_sets_components_operational():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})

    update = services.incident_resolve(incident=incident, body="All good.")

    api.refresh_from_db()
    incident.refresh_from_db()
    assert api.status == "operational"
    assert incident.status == "resolved"
    assert incident.resolved_at == update.display_at
    assert update.component_changes.get().new_status == "operational"


def test_resolving_keeps_a_component_that_another_open_incident_holds():
    api = make_component("API")
    first = make_incident("Errors", components={api: "major_outage"})
    make_incident("Slow responses", components={api: "degraded_performance"})

    services.incident_resolve(incident=first, body="Errors fixed.")

    api.refresh_from_db()
    assert api.status == "degraded_performance"


def test_resolving_keeps_a_component_under_a_running_maintenance():
    db = make_component("Database")
    maintenance = make_maintenance(components=[db], starts_in=dt.timedelta(minutes=-1))
    services.maintenance_start(maintenance=maintenance)
    incident = make_incident(components={db: "partial_outage"})

    services.incident_resolve(incident=incident, body="Fixed.")

    db.refresh_from_db()
    assert db.status == "under_maintenance"


def test_an_update_refuses_a_status_of_the_other_kind():
    incident = make_incident()
    with pytest.raises(ValidationError):
        services.incident_post_update(incident=incident, status="in_progress", body="x")
    assert incident.updates.count() == 1


def test_an_update_needs_a_message():
    incident = make_incident()
    with pytest.raises(ValidationError):
        services.incident_post_update(incident=incident, status="identified", body="   ")


def test_an_invalid_component_status_changes_nothing():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    with pytest.raises(ValidationError):
        services.incident_post_update(
            incident=incident, status="identified", body="x", component_statuses={api: "on_fire"}
        )
    api.refresh_from_db()
    assert api.status == "major_outage"
    assert incident.updates.count() == 1


def test_a_failed_write_leaves_nothing_behind():
    api = make_component("API")
    with pytest.raises(ValidationError):
        services.incident_open(
            name="Outage", impact="major", body="", component_statuses={api: "major_outage"}
        )
    api.refresh_from_db()
    assert api.status == "operational"
    assert not Incident.objects.exists()
    assert not ComponentStatusChange.objects.exists()


def test_publishing_a_postmortem_needs_a_resolved_incident():
    incident = make_incident()
    with pytest.raises(ValidationError):
        services.incident_publish_postmortem(incident=incident, body="# What happened")

    services.incident_resolve(incident=incident, body="Fixed.")
    services.incident_publish_postmortem(incident=incident, body="# What happened\n\nA bad deploy.")

    incident.refresh_from_db()
    assert incident.status == "postmortem"
    assert incident.postmortem_published_at is not None
    assert incident.postmortem_body.startswith("# What happened")


def test_a_postmortem_draft_is_saved_unpublished():
    incident = make_incident()
    services.incident_save_postmortem(incident=incident, body="draft text")
    incident.refresh_from_db()
    assert incident.postmortem_body == "draft text"
    assert incident.postmortem_published_at is None


def test_an_update_after_a_postmortem_keeps_the_postmortem_status():
    incident = make_incident()
    services.incident_resolve(incident=incident, body="Fixed.")
    services.incident_publish_postmortem(incident=incident, body="Root cause.")
    update = services.incident_post_update(
        incident=incident, status="resolved", body="One more detail."
    )
    incident.refresh_from_db()
    assert incident.status == "postmortem"
    assert update.status == "postmortem"


def test_reopening_a_resolved_incident_takes_the_components_again():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    services.incident_resolve(incident=incident, body="Fixed.")
    services.incident_post_update(
        incident=incident,
        status="investigating",
        body="The errors are back.",
        component_statuses={api: "partial_outage"},
    )
    incident.refresh_from_db()
    api.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.resolved_at is None
    assert api.status == "partial_outage"


def test_a_maintenance_runs_its_course():
    db = make_component("Database")
    maintenance = make_maintenance(components=[db])
    db.refresh_from_db()
    assert db.status == "operational"
    assert maintenance.status == "scheduled"

    services.maintenance_start(maintenance=maintenance)
    db.refresh_from_db()
    assert db.status == "under_maintenance"

    services.incident_post_update(incident=maintenance, status="verifying", body="Checking.")
    services.maintenance_complete(maintenance=maintenance)
    db.refresh_from_db()
    maintenance.refresh_from_db()
    assert db.status == "operational"
    assert maintenance.status == "completed"
    assert maintenance.resolved_at is not None
    assert maintenance.resolved_at >= maintenance.started_at
    assert [u.status for u in maintenance.updates.all()] == [
        "completed",
        "verifying",
        "in_progress",
        "scheduled",
    ]


def test_completing_a_maintenance_before_it_starts_is_allowed():
    maintenance = make_maintenance(starts_in=dt.timedelta(days=3))
    services.maintenance_complete(maintenance=maintenance, body="Cancelled.")
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert maintenance.resolved_at is not None
    assert maintenance.resolved_at <= timezone.now()


def test_a_maintenance_window_must_end_after_it_starts():
    start = timezone.now()
    with pytest.raises(ValidationError):
        services.maintenance_schedule(
            name="Upgrade", body="x", scheduled_for=start, scheduled_until=start
        )


def test_due_maintenances_are_found_by_their_window():
    soon = make_maintenance("Soon", starts_in=dt.timedelta(minutes=30), lasts=dt.timedelta(hours=1))
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31)):
        to_start, to_complete = services.maintenances_due()
        assert to_start == [soon]
        services.maintenance_start(maintenance=soon)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=95)):
        to_start, to_complete = services.maintenances_due()
        assert (to_start, [m.pk for m in to_complete]) == ([], [soon.pk])


def test_a_backfilled_incident_records_the_past_without_changing_today():
    api = make_component("API")
    start = timezone.now() - dt.timedelta(days=3, hours=2)
    end = start + dt.timedelta(hours=1)
    incident = services.incident_backfill(
        name="Missed outage",
        impact="major",
        body="Entered after the fact.",
        started_at=start,
        resolved_at=end,
        component_statuses={api: "major_outage"},
    )
    api.refresh_from_db()
    assert api.status == "operational"
    assert incident.backfilled and incident.status == "resolved"
    assert incident.resolved_at == end
    assert api.uptime_days.get().major_outage_seconds == 3600
    assert not IncidentUpdate.objects.get(incident=incident).deliver_notifications


def test_a_draft_incident_can_be_published():
    incident = make_incident(is_draft=True)
    assert not Incident.objects.public().exists()
    services.incident_publish(incident=incident)
    assert Incident.objects.public().get() == incident


def test_opening_from_a_template_copies_it():
    from incidents.models import IncidentTemplate

    api = make_component("API")
    template = IncidentTemplate.objects.create(
        name="API errors", incident_name="Elevated API errors", impact="major", body="Looking."
    )
    template.components.add(api)
    incident = services.incident_open_from_template(template=template)
    api.refresh_from_db()
    assert incident.name == "Elevated API errors"
    assert incident.impact == "major"
    assert api.status == "partial_outage"


def test_maintenances_start_and_complete_by_themselves_at_their_window():
    db = make_component("Database")
    maintenance = make_maintenance(
        components=[db], starts_in=dt.timedelta(minutes=10), lasts=dt.timedelta(minutes=30)
    )
    manual = make_maintenance("Manual", starts_in=dt.timedelta(minutes=10), auto_transition=False)
    assert services.maintenances_advance() == (0, 0)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        assert services.maintenances_advance() == (1, 0)
        db.refresh_from_db()
        assert db.status == "under_maintenance"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=45)):
        assert services.maintenances_advance() == (0, 1)
    maintenance.refresh_from_db()
    manual.refresh_from_db()
    db.refresh_from_db()
    assert maintenance.status == "completed"
    assert manual.status == "scheduled"
    assert db.status == "operational"


def test_an_incident_can_be_renamed_and_its_impact_changed():
    incident = make_incident("Eror rates")
    services.incident_edit(incident=incident, name="Error rates", impact="critical")
    incident.refresh_from_db()
    assert (incident.name, incident.impact) == ("Error rates", "critical")
    with pytest.raises(ValidationError):
        services.incident_edit(incident=incident, name="Error rates", impact="maintenance")


def test_a_maintenance_can_be_rescheduled_until_it_completes():
    maintenance = make_maintenance(starts_in=dt.timedelta(days=1))
    assert maintenance.scheduled_for is not None
    start = maintenance.scheduled_for + dt.timedelta(hours=3)
    services.maintenance_reschedule(
        maintenance=maintenance, scheduled_for=start, scheduled_until=start + dt.timedelta(hours=1)
    )
    maintenance.refresh_from_db()
    assert maintenance.scheduled_for == start == maintenance.started_at
    with pytest.raises(ValidationError):
        services.maintenance_reschedule(
            maintenance=maintenance, scheduled_for=start, scheduled_until=start
        )
    services.maintenance_complete(maintenance=maintenance)
    with pytest.raises(ValidationError):
        services.maintenance_reschedule(
            maintenance=maintenance,
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
        )


# Deleting an incident posted by mistake

DAY = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _history(component) -> list[tuple[str, str, str]]:
    return [
        (c.from_status, c.to_status, c.incident_public_id)
        for c in ComponentStatusChange.objects.filter(component=component).order_by(
            "changed_at", "id"
        )
    ]


def _downtime(component) -> int:
    from statuspage.models import UptimeDay

    return sum(
        day.major_outage_seconds + day.partial_outage_seconds + day.degraded_seconds
        for day in UptimeDay.objects.filter(component=component)
    )


def test_deleting_a_resolved_incident_takes_its_stretch_out_of_history_and_uptime():
    with time_machine.travel(DAY - dt.timedelta(days=1), tick=False):
        api = make_component("API")
    with time_machine.travel(DAY, tick=False):
        incident = make_incident(components={api: "major_outage"})
    with time_machine.travel(DAY + dt.timedelta(hours=1), tick=False):
        services.incident_resolve(incident=incident, body="Fixed.")
    assert _downtime(api) == 3600

    with time_machine.travel(DAY + dt.timedelta(hours=2), tick=False):
        services.incident_delete(incident=incident)

    api.refresh_from_db()
    assert not Incident.objects.exists() and not IncidentUpdate.objects.exists()
    assert _history(api) == []
    assert _downtime(api) == 0
    assert (api.status, api.status_changed_at) == ("operational", api.created_at)


def test_deleting_an_open_incident_releases_its_components_without_telling_anyone():
    from incidents.models import OutboxEvent

    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    services.incident_delete(incident=incident)
    api.refresh_from_db()
    assert api.status == "operational"
    assert _history(api) == []
    assert not OutboxEvent.objects.exists()


def test_deleting_an_incident_relinks_the_changes_of_others_and_keeps_the_present():
    with time_machine.travel(DAY - dt.timedelta(days=1), tick=False):
        api = make_component("API")
    with time_machine.travel(DAY, tick=False):
        mistake = make_incident("Mistake", components={api: "major_outage"})
    with time_machine.travel(DAY + dt.timedelta(minutes=30), tick=False):
        real = make_incident("Real", components={api: "partial_outage"})
    with time_machine.travel(DAY + dt.timedelta(hours=1), tick=False):
        services.incident_resolve(incident=mistake, body="Not ours.")
    api.refresh_from_db()
    assert api.status == "partial_outage"  # the real incident still holds it

    with time_machine.travel(DAY + dt.timedelta(hours=2), tick=False):
        services.incident_delete(incident=mistake)

    api.refresh_from_db()
    assert api.status == "partial_outage"
    assert _history(api) == [("operational", "partial_outage", real.public_id)]
    assert api.status_changed_at == DAY + dt.timedelta(minutes=30)
    assert _downtime(api) == 0  # the partial outage is still open: nothing closed to roll up
    with time_machine.travel(DAY + dt.timedelta(hours=3), tick=False):
        services.incident_resolve(incident=real, body="Fixed.")
    assert _downtime(api) == 2.5 * 3600  # partial outage from 10:30 to 13:00, nothing major


def test_a_manual_change_during_a_deleted_incident_stays_and_so_does_the_present():
    from statuspage.services import component_set_status

    with time_machine.travel(DAY - dt.timedelta(days=1), tick=False):
        api = make_component("API")
    with time_machine.travel(DAY, tick=False):
        mistake = make_incident("Mistake", components={api: "major_outage"})
    with time_machine.travel(DAY + dt.timedelta(minutes=20), tick=False):
        component_set_status(component=api, status="degraded_performance")
    with time_machine.travel(DAY + dt.timedelta(hours=1), tick=False):
        services.incident_resolve(incident=mistake, body="Not ours.")

    services.incident_delete(incident=mistake)

    api.refresh_from_db()
    assert api.status == "operational"
    assert _history(api) == [
        ("operational", "degraded_performance", ""),
        ("degraded_performance", "operational", ""),
    ]
    assert api.status_changed_at == DAY + dt.timedelta(hours=1)
