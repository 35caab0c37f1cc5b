"""The plan of an update: what posting it will do to each component, worked out beforehand,
and held equal to what the post then writes."""

import datetime as dt

import pytest

from incidents import services
from incidents.models import IncidentComponent, IncidentUpdate, UpdateComponentChange
from statuspage.models import Component, ComponentStatusChange
from tests.factories import make_component, make_incident, make_maintenance

pytestmark = pytest.mark.django_db


def planned(plan: services.UpdatePlan) -> set[tuple[str, str, str]]:
    return {(p.component.name, p.before, p.after) for p in plan.components}


def written(update: IncidentUpdate) -> set[tuple[str, str, str]]:
    return {
        (change.component.name, change.old_status, change.new_status)
        for change in update.component_changes.select_related("component")
    }


def statuses_now(plan: services.UpdatePlan) -> dict[str, str]:
    names = [p.component.name for p in plan.components]
    return dict(Component.objects.filter(name__in=names).values_list("name", "status"))


def test_an_update_writes_what_its_plan_says_including_a_newly_added_component():
    api, web = make_component("API"), make_component("Web")
    incident = make_incident(components={api: "major_outage"})
    wanted = {api: "partial_outage", web: "degraded_performance"}

    plan = services.incident_update_plan(
        incident=incident, status="identified", component_statuses=wanted
    )
    update = services.incident_post_update(
        incident=incident, status="identified", body="Rolling back.", component_statuses=wanted
    )

    assert planned(plan) == {
        ("API", "major_outage", "partial_outage"),
        ("Web", "operational", "degraded_performance"),
    }
    assert {p.component.name: p.newly_affected for p in plan.components} == {
        "API": False,
        "Web": True,
    }
    assert written(update) == planned(plan)
    assert statuses_now(plan) == {"API": "partial_outage", "Web": "degraded_performance"}
    assert IncidentComponent.objects.get(incident=incident, component=web).status == (
        "degraded_performance"
    )
    assert plan.incident_status == plan.update_status == update.status == "identified"


def test_resolving_plans_and_writes_the_worst_status_of_the_other_open_incidents():
    api, web = make_component("API"), make_component("Web")
    make_incident("Slow responses", components={api: "degraded_performance"})
    errors = make_incident("Errors", components={api: "major_outage", web: "partial_outage"})

    plan = services.incident_update_plan(
        incident=errors, status="resolved", component_statuses={web: "major_outage"}
    )
    update = services.incident_resolve(incident=errors, body="Errors fixed.")

    assert planned(plan) == {
        ("API", "major_outage", "degraded_performance"),
        ("Web", "partial_outage", "operational"),
    }
    assert written(update) == planned(plan)
    assert statuses_now(plan) == {"API": "degraded_performance", "Web": "operational"}


def test_starting_and_completing_a_maintenance_write_what_their_plans_say():
    db = make_component("Database")
    maintenance = make_maintenance(components=[db], starts_in=dt.timedelta(minutes=-1))

    start = services.maintenance_update_plan(maintenance=maintenance, status="in_progress")
    update = services.maintenance_post_update(maintenance=maintenance, status="in_progress")
    assert planned(start) == {("Database", "operational", "under_maintenance")}
    assert written(update) == planned(start)
    assert update.body == services.MAINTENANCE_STARTED_BODY

    maintenance.refresh_from_db()
    complete = services.maintenance_update_plan(maintenance=maintenance, status="completed")
    update = services.maintenance_post_update(maintenance=maintenance, status="completed")
    assert planned(complete) == {("Database", "under_maintenance", "operational")}
    assert written(update) == planned(complete)
    assert update.body == services.MAINTENANCE_COMPLETED_BODY


def test_a_maintenance_update_between_start_and_end_plans_no_component():
    db = make_component("Database")
    maintenance = make_maintenance(components=[db], starts_in=dt.timedelta(minutes=-1))
    services.maintenance_start(maintenance=maintenance)
    maintenance.refresh_from_db()

    plan = services.maintenance_update_plan(maintenance=maintenance, status="verifying")
    update = services.maintenance_post_update(
        maintenance=maintenance, status="verifying", body="Checking replicas."
    )

    assert plan.components == ()
    assert not update.component_changes.exists()


def test_a_note_after_a_postmortem_plans_the_postmortem_status_and_no_component():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    services.incident_resolve(incident=incident, body="Fixed.")
    services.incident_publish_postmortem(incident=incident, body="What went wrong.")
    incident.refresh_from_db()

    plan = services.incident_update_plan(
        incident=incident, status="resolved", component_statuses={api: "partial_outage"}
    )
    update = services.incident_post_update(
        incident=incident,
        status="resolved",
        body="A correction.",
        component_statuses={api: "partial_outage"},
    )

    assert (plan.incident_status, plan.update_status, plan.components) == (
        "postmortem",
        "postmortem",
        (),
    )
    assert update.status == "postmortem" and not update.component_changes.exists()
    api.refresh_from_db()
    assert api.status == "operational"


def test_planning_an_update_writes_nothing():
    api = make_component("API")
    make_incident("Slow responses", components={api: "degraded_performance"})
    incident = make_incident(components={api: "major_outage"})
    counts = (
        IncidentUpdate.objects.count(),
        UpdateComponentChange.objects.count(),
        ComponentStatusChange.objects.count(),
    )

    services.incident_update_plan(incident=incident, status="resolved")
    services.incident_update_plan(
        incident=incident, status="monitoring", component_statuses={api: "partial_outage"}
    )

    api.refresh_from_db()
    incident.refresh_from_db()
    assert api.status == "major_outage" and incident.status == "investigating"
    assert counts == (
        IncidentUpdate.objects.count(),
        UpdateComponentChange.objects.count(),
        ComponentStatusChange.objects.count(),
    )
