"""Incidents and scheduled maintenances (one resource in Statuspage's API), their updates and
their postmortems. Each write is one or more calls of incidents.services in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone

from incidents import services
from incidents.models import (
    CLOSED_STATUSES,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    STATUS_LABELS,
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceStatus,
)
from manage import fields
from manage.errors import Invalid, NotFound
from manage.http import Call, Json
from manage.serializers import (
    incidents_for_api,
    load_incident,
    manage_incident,
    manage_postmortem,
    manage_update,
)
from manage.views.components import components_by_ids
from statuspage.models import COMPONENT_STATUS_VALUES, Component, ComponentStatus

LIMIT_MAX = 100
# Statuspage works an incident's impact out from its components unless the tool chose one.
_IMPACT_OF_STATUS: dict[str, str] = {
    ComponentStatus.MAJOR_OUTAGE: Impact.MAJOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MINOR,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
}
_IMPACT_ORDER: list[str] = [Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL]
_IGNORED = ("auto_tweet", "custom_tweet", "wants_twitter_update")


def find_incident(public_id: str) -> Incident:
    incident = Incident.objects.filter(public_id=public_id).first()
    if incident is None:
        raise NotFound()
    return incident


def _answer(incident: Incident) -> Json:
    return manage_incident(load_incident(incident))


def _page(call: Call, incidents: Any, *, size_param: str) -> list[Json]:
    page = fields.query_int(call.request.GET.get("page"), "page", default=1, maximum=10**6)
    size = fields.query_int(
        call.request.GET.get(size_param), size_param, default=LIMIT_MAX, maximum=LIMIT_MAX
    )
    rows = incidents_for_api(incidents)[(page - 1) * size : page * size]
    return [manage_incident(incident) for incident in rows]


def list_incidents(call: Call) -> tuple[int, Json]:
    incidents = Incident.objects.all()
    query = call.request.GET.get("q", "").strip()
    if query:
        incidents = incidents.filter(
            Q(name__icontains=query) | Q(updates__body__icontains=query)
        ).distinct()
    return 200, _page(call, incidents, size_param="limit")


def list_unresolved(call: Call) -> tuple[int, Json]:
    return 200, _page(call, Incident.objects.unresolved(), size_param="per_page")


def list_upcoming(call: Call) -> tuple[int, Json]:
    upcoming = Incident.objects.maintenance_upcoming().order_by("scheduled_for", "id")
    return 200, _page(call, upcoming, size_param="per_page")


def list_scheduled(call: Call) -> tuple[int, Json]:
    return 200, _page(call, Incident.objects.maintenances(), size_param="per_page")


def list_active_maintenance(call: Call) -> tuple[int, Json]:
    return 200, _page(call, Incident.objects.maintenance_active(), size_param="per_page")


def _component_statuses(data: dict[str, Any]) -> dict[Component, str] | None:
    """`components` ({id: status}) and `component_ids` together: the statuses this write gives.

    A component named only in `component_ids` is affected and keeps its present status."""
    statuses = data.get("components")
    ids = fields.id_list(data, "component_ids")
    if statuses is None and ids is None:
        return None
    if statuses is None:
        statuses = {}
    if not isinstance(statuses, dict):
        raise Invalid("components must be an object of component ids and statuses")
    for component_id, status in statuses.items():
        if status not in COMPONENT_STATUS_VALUES:
            raise Invalid(
                f"components: {status!r} for {component_id} is not included in the list "
                f"({', '.join(COMPONENT_STATUS_VALUES)})"
            )
    named = list(dict.fromkeys([*(ids or []), *statuses]))
    found = components_by_ids(named, field="component_ids")
    return {c: statuses.get(c.public_id, c.status) for c in found}


def _derived_impact(statuses: dict[Component, str] | None) -> str:
    impacts = [_IMPACT_OF_STATUS.get(s, Impact.NONE) for s in (statuses or {}).values()]
    return max(impacts, key=_IMPACT_ORDER.index, default=Impact.NONE)


def _is_maintenance_request(data: dict[str, Any], status: str | None) -> bool:
    return status in MAINTENANCE_STATUSES or (
        status is None and fields.timestamp(data, "scheduled_for") is not None
    )


def _body(data: dict[str, Any], status: str) -> str:
    body = fields.text(data, "body")
    if body and body.strip():
        return body
    return f"{STATUS_LABELS.get(status, status)}."


def _deliver(data: dict[str, Any]) -> bool:
    return fields.boolean(data, "deliver_notifications") is not False


def _auto_transition(data: dict[str, Any]) -> bool | None:
    values = [
        fields.boolean(data, name)
        for name in (
            "scheduled_auto_in_progress",
            "scheduled_auto_completed",
            "auto_transition_to_maintenance_state",
            "auto_transition_to_operational_state",
        )
    ]
    given = [v for v in values if v is not None]
    return any(given) if given else None


def _check_common(data: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    impact_override = fields.choice(data, "impact_override", [v for v, _ in Impact.choices])
    metadata = fields.json_object(data, "metadata")
    for name in _IGNORED:
        data.pop(name, None)
    return impact_override, metadata


def create_incident(call: Call) -> tuple[int, Json]:
    data = call.section("incident", required=True)
    status = fields.choice(data, "status", INCIDENT_STATUSES + MAINTENANCE_STATUSES)
    name = fields.text(data, "name", blank=False)
    if name is None:
        raise Invalid("name can't be blank")
    impact_override, metadata = _check_common(data)
    statuses = _component_statuses(data)
    deliver = _deliver(data)
    if _is_maintenance_request(data, status):
        incident = _create_maintenance(call, data, name, status, statuses, deliver)
    elif fields.boolean(data, "backfilled"):
        incident = _backfill(data, name, impact_override, statuses)
    else:
        status = status or IncidentStatus.INVESTIGATING
        if status in CLOSED_STATUSES:
            raise Invalid(
                "status must be investigating, identified or monitoring for a new incident"
            )
        incident = services.incident_open(
            name=name,
            impact=impact_override or _derived_impact(statuses),
            body=_body(data, status),
            status=status,
            component_statuses=statuses or {},
            deliver_notifications=deliver,
        )
    if impact_override is not None or metadata is not None:
        services.incident_edit(
            incident=incident, impact_override=impact_override, metadata=metadata
        )
    call.added(incident, f"Created the {'maintenance' if incident.is_maintenance else 'incident'}.")
    return 201, _answer(incident)


def _create_maintenance(
    call: Call,
    data: dict[str, Any],
    name: str,
    status: str | None,
    statuses: dict[Component, str] | None,
    deliver: bool,
) -> Incident:
    starts = fields.timestamp(data, "scheduled_for")
    ends = fields.timestamp(data, "scheduled_until")
    if starts is None:
        raise Invalid("scheduled_for can't be blank")
    if ends is None:
        raise Invalid("scheduled_until can't be blank")
    if ends <= starts:
        raise Invalid("scheduled_until must be after scheduled_for")
    maintenance = services.maintenance_schedule(
        name=name,
        body=_body(data, MaintenanceStatus.SCHEDULED),
        scheduled_for=starts,
        scheduled_until=ends,
        components=list(statuses or {}),
        deliver_notifications=deliver,
        auto_transition=_auto_transition(data) is not False,
    )
    if status not in (None, MaintenanceStatus.SCHEDULED):
        services.maintenance_post_update(
            maintenance=maintenance,
            status=status,  # type: ignore[arg-type]  # None is excluded above
            body=fields.text(data, "body") or "",
            deliver_notifications=deliver,
        )
    return maintenance


def _backfill(
    data: dict[str, Any],
    name: str,
    impact_override: str | None,
    statuses: dict[Component, str] | None,
) -> Incident:
    started = fields.timestamp(data, "backfill_date")
    if started is None:
        raise Invalid("backfill_date can't be blank")
    # Statuspage records a backfilled incident at a date, without a length: it is kept as a
    # minute from that time.
    resolved = started + dt.timedelta(minutes=1)
    if resolved > timezone.now():
        raise Invalid("backfill_date must be in the past")
    return services.incident_backfill(
        name=name,
        impact=impact_override or _derived_impact(statuses),
        body=_body(data, IncidentStatus.RESOLVED),
        started_at=started,
        resolved_at=resolved,
        component_statuses=statuses or {},
    )


def get_incident(call: Call) -> tuple[int, Json]:
    return 200, _answer(find_incident(call.kwargs["incident_id"]))


def update_incident(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    data = call.section("incident", required=True)
    allowed = MAINTENANCE_STATUSES if incident.is_maintenance else INCIDENT_STATUSES
    status = fields.choice(data, "status", [s for s in allowed if s != IncidentStatus.POSTMORTEM])
    name = fields.text(data, "name", blank=False)
    impact_override, metadata = _check_common(data)
    statuses = _component_statuses(data)
    body = fields.text(data, "body")
    deliver = _deliver(data)
    done = []
    if incident.is_maintenance:
        starts = fields.timestamp(data, "scheduled_for")
        ends = fields.timestamp(data, "scheduled_until")
        if starts is not None or ends is not None:
            services.maintenance_reschedule(
                maintenance=incident,
                scheduled_for=starts or incident.scheduled_for,  # type: ignore[arg-type]  # a maintenance has a window
                scheduled_until=ends or incident.scheduled_until,  # type: ignore[arg-type]  # idem
            )
            done.append("rescheduled")
    if name is not None or impact_override is not None or metadata is not None:
        services.incident_edit(
            incident=incident, name=name, impact_override=impact_override, metadata=metadata
        )
        done.append("edited")
    if status is not None or (body and body.strip()) or statuses:
        incident.refresh_from_db()
        new_status = status or incident.status
        if new_status == IncidentStatus.POSTMORTEM:
            new_status = IncidentStatus.RESOLVED
        if incident.is_maintenance and statuses is None:
            services.maintenance_post_update(
                maintenance=incident,
                status=new_status,
                body=body or "",
                deliver_notifications=deliver,
            )
        else:
            services.incident_post_update(
                incident=incident,
                status=new_status,
                body=_body(data, new_status),
                component_statuses=statuses,
                deliver_notifications=deliver,
            )
        done.append(f"posted a {new_status} update")
    if done:
        call.record(incident, f"{', '.join(done).capitalize()}.")
    return 200, _answer(incident)


def delete_incident(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    answer = _answer(incident)
    call.deleted(incident, "Deleted.")
    services.incident_delete(incident=incident)
    return 200, answer


def update_incident_update(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    update = IncidentUpdate.objects.filter(
        incident=incident, public_id=call.kwargs["update_id"]
    ).first()
    if update is None:
        raise NotFound()
    data = call.section("incident_update", required=True)
    edited = services.incident_update_edit(
        update=update,
        body=fields.text(data, "body", blank=False),
        display_at=fields.timestamp(data, "display_at"),
        deliver_notifications=fields.boolean(data, "deliver_notifications"),
    )
    call.record(incident, "Corrected an update.")
    return 200, manage_update(edited)


# Postmortems


def get_postmortem(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    if incident.is_maintenance:
        raise NotFound()
    return 200, manage_postmortem(incident)


def save_postmortem(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    if incident.is_maintenance:
        raise NotFound()
    data = call.section("postmortem", required=True)
    body = fields.text(data, "body_draft")
    if body is None:
        raise Invalid("body_draft can't be blank")
    incident = services.incident_save_postmortem(incident=incident, body=body)
    call.record(incident, "Saved the postmortem.")
    return 200, manage_postmortem(incident)


def publish_postmortem(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    if incident.is_maintenance:
        raise NotFound()
    data = call.section("postmortem")
    notify = fields.boolean(data, "notify_subscribers")
    incident = services.incident_publish_postmortem(
        incident=incident, deliver_notifications=notify is not False
    )
    call.record(incident, "Published the postmortem.")
    return 200, manage_postmortem(incident)


def revert_postmortem(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    if incident.is_maintenance:
        raise NotFound()
    incident = services.incident_unpublish_postmortem(incident=incident)
    call.record(incident, "Reverted the postmortem to a draft.")
    return 200, manage_postmortem(incident)


def delete_postmortem(call: Call) -> tuple[int, Json]:
    incident = find_incident(call.kwargs["incident_id"])
    if incident.is_maintenance:
        raise NotFound()
    incident = services.incident_delete_postmortem(incident=incident)
    call.record(incident, "Deleted the postmortem.")
    return 200, manage_postmortem(incident)
