"""Every write to incidents and maintenances: one function each, one transaction each.

The admin, the checker and any later API call these and nothing else, so the rules (which
statuses follow which, what a resolution does to components) live here once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from incidents.models import (
    ACTIVE_MAINTENANCE_STATUSES,
    CLOSED_STATUSES,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    UNRESOLVED_INCIDENT_STATUSES,
    EventKind,
    Impact,
    Incident,
    IncidentComponent,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Kind,
    MaintenanceStatus,
    UpdateComponentChange,
)
from incidents.outbox import record_event, update_event_kind
from statuspage.models import ChangeReason, Component, ComponentStatus, ComponentStatusChange
from statuspage.rollup import worst_component_status
from statuspage.services import (
    component_forget_incident,
    component_move_start,
    component_record_past_status,
    component_set_status,
)
from statuspage.text import clean_message, clean_one_line
from statuspage.version import public_changed

ComponentStatuses = Mapping[Component, str]

# The impacts an incident can have; a maintenance's is its own.
_INCIDENT_IMPACTS = [value for value, _ in Impact.choices if value != Impact.MAINTENANCE]


def _reason(incident: Incident) -> str:
    return ChangeReason.MAINTENANCE if incident.is_maintenance else ChangeReason.INCIDENT


def _check_component_statuses(component_statuses: ComponentStatuses) -> None:
    valid = {value for value, _ in ComponentStatus.choices}
    for component, status in component_statuses.items():
        if status not in valid:
            raise ValidationError(f"{status!r} is not a component status (for {component}).")


def _apply_component_statuses(
    *,
    incident: Incident,
    update: IncidentUpdate,
    component_statuses: ComponentStatuses,
    at: dt.datetime,
    change_reason: str | None = None,
) -> None:
    """Give each component its new status, and record old and new on the update."""
    reason = change_reason or _reason(incident)
    held = {ic.component_id: ic for ic in incident.affected.select_for_update()}
    changes = []
    for component, new_status in component_statuses.items():
        link = held.get(component.pk)
        if link is None:
            IncidentComponent.objects.create(
                incident=incident, component=component, status=new_status
            )
        elif link.status != new_status:
            link.status = new_status
            link.save(update_fields=["status"])
        status_change = component_set_status(
            component=component,
            status=new_status,
            reason=reason,
            at=at,
            incident_public_id=incident.public_id,
        )
        # The old status as seen under the component's row lock; no change means it had it.
        old_status = status_change.from_status if status_change is not None else new_status
        changes.append(
            UpdateComponentChange(
                update=update, component=component, old_status=old_status, new_status=new_status
            )
        )
        if status_change is not None and _announces(incident, update):
            record_event(
                kind=EventKind.COMPONENT_STATUS_CHANGED,
                incident=incident,
                update=update,
                status_change=status_change,
            )
    UpdateComponentChange.objects.bulk_create(changes)


def _announces(incident: Incident, update: IncidentUpdate) -> bool:
    return update.deliver_notifications and not incident.is_draft


def _released_statuses(incident: Incident) -> dict[Component, str]:
    """The status each affected component falls back to when `incident` closes: operational,
    unless another open incident or maintenance still holds it."""
    links = list(incident.affected.select_related("component"))
    others = IncidentComponent.objects.filter(
        component__in=[link.component_id for link in links],
        incident__in=Incident.objects.open().exclude(pk=incident.pk),
    ).values_list("component_id", "status")
    held: dict[int, list[str]] = {}
    for component_id, status in others:
        held.setdefault(component_id, []).append(status)
    return {
        link.component: worst_component_status(held.get(link.component_id, [])) for link in links
    }


@dataclass(frozen=True)
class PlannedStatus:
    """One component an update writes: its status before the update and the one it gets."""

    component: Component
    before: str
    after: str
    newly_affected: bool


@dataclass(frozen=True)
class UpdatePlan:
    """What posting an update will do, worked out before anything is written."""

    incident_status: str
    update_status: str
    components: tuple[PlannedStatus, ...]

    def component_statuses(self) -> dict[Component, str]:
        return {planned.component: planned.after for planned in self.components}


def incident_update_plan(
    *,
    incident: Incident,
    status: str,
    component_statuses: ComponentStatuses | None = None,
) -> UpdatePlan:
    """What an update in `status` does to `incident` and to each component it writes.

    Reads, never writes: `incident_post_update` writes exactly this plan, and the email preview
    shows it. Closing (resolved, completed) releases every affected component and ignores the
    statuses given; an update to an incident that is closed and stays closed touches none.
    """
    was_closed = incident.status in CLOSED_STATUSES
    if was_closed and status in CLOSED_STATUSES:
        # A note after the end: a published postmortem keeps its status, on the update too.
        kept_postmortem = incident.status == IncidentStatus.POSTMORTEM
        return UpdatePlan(
            incident_status=incident.status,
            update_status=IncidentStatus.POSTMORTEM if kept_postmortem else status,
            components=(),
        )
    if status in CLOSED_STATUSES:
        targets = _released_statuses(incident)
    else:
        targets = dict(component_statuses or {})
    affected = set(incident.affected.values_list("component_id", flat=True))
    current = dict(
        Component.objects.filter(pk__in=[c.pk for c in targets]).values_list("pk", "status")
    )
    return UpdatePlan(
        incident_status=status,
        update_status=status,
        components=tuple(
            PlannedStatus(
                component=component,
                before=current[component.pk],
                after=after,
                newly_affected=component.pk not in affected,
            )
            for component, after in targets.items()
        ),
    )


def _new_update(
    *,
    incident: Incident,
    status: str,
    body: str,
    deliver_notifications: bool,
    display_at: dt.datetime,
) -> IncidentUpdate:
    body = clean_message(body)
    if not body.strip():
        raise ValidationError("An update needs a message.")
    now = timezone.now()
    return IncidentUpdate.objects.create(
        incident=incident,
        status=status,
        body=body,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        created_at=now,
        updated_at=now,
    )


@transaction.atomic
def incident_open(
    *,
    name: str,
    impact: str,
    body: str,
    status: str = IncidentStatus.INVESTIGATING,
    component_statuses: ComponentStatuses | None = None,
    deliver_notifications: bool = True,
    started_at: dt.datetime | None = None,
    is_draft: bool = False,
    change_reason: str | None = None,
) -> Incident:
    """Open an incident with its first update; affected components take their new status."""
    component_statuses = component_statuses or {}
    if status not in UNRESOLVED_INCIDENT_STATUSES:
        raise ValidationError("A new incident must be investigating, identified or monitoring.")
    if impact not in _INCIDENT_IMPACTS:
        raise ValidationError(f"{impact!r} is not an incident impact.")
    if not name.strip():
        raise ValidationError("An incident needs a name.")
    name = clean_one_line(name.strip())
    _check_component_statuses(component_statuses)
    now = timezone.now()
    started_at = started_at or now
    incident = Incident.objects.create(
        kind=Kind.INCIDENT,
        name=name,
        status=status,
        impact=impact,
        is_draft=is_draft,
        started_at=started_at,
        monitoring_at=now if status == IncidentStatus.MONITORING else None,
        created_at=now,
        updated_at=now,
    )
    update = _new_update(
        incident=incident,
        status=status,
        body=body,
        deliver_notifications=deliver_notifications,
        display_at=started_at,
    )
    _apply_component_statuses(
        incident=incident,
        update=update,
        component_statuses=component_statuses,
        at=started_at,
        change_reason=change_reason,
    )
    if _announces(incident, update):
        record_event(kind=EventKind.INCIDENT_CREATED, incident=incident, update=update)
    return incident


@transaction.atomic
def incident_open_from_template(
    *,
    template: IncidentTemplate,
    component_status: str = ComponentStatus.PARTIAL_OUTAGE,
    deliver_notifications: bool = True,
) -> Incident:
    """Open an incident with a template's name, status, impact, message and components."""
    return incident_open(
        name=template.incident_name,
        impact=template.impact,
        status=template.status,
        body=template.body,
        component_statuses={c: component_status for c in template.components.all()},
        deliver_notifications=deliver_notifications,
    )


@transaction.atomic
def incident_post_update(
    *,
    incident: Incident,
    status: str,
    body: str,
    component_statuses: ComponentStatuses | None = None,
    deliver_notifications: bool = True,
    display_at: dt.datetime | None = None,
    impact: str | None = None,
    change_reason: str | None = None,
) -> IncidentUpdate:
    """Post an update to an incident or maintenance.

    Affected components take the statuses given. Moving to a closed status (resolved,
    completed) releases every affected component: back to operational unless another open
    incident or maintenance still holds it; statuses given for components are then ignored.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    component_statuses = dict(component_statuses or {})
    allowed = MAINTENANCE_STATUSES if incident.is_maintenance else INCIDENT_STATUSES
    if status not in allowed or status == IncidentStatus.POSTMORTEM:
        raise ValidationError(
            f"{status!r} is not a status an update of this {incident.kind} can set."
        )
    if impact is not None and impact not in [v for v, _ in Impact.choices]:
        raise ValidationError(f"{impact!r} is not an impact.")
    _check_component_statuses(component_statuses)
    now = timezone.now()
    display_at = display_at or now
    was_closed = incident.status in CLOSED_STATUSES
    closing = status in CLOSED_STATUSES and not was_closed
    plan = incident_update_plan(
        incident=incident, status=status, component_statuses=component_statuses
    )

    update = _new_update(
        incident=incident,
        status=plan.update_status,
        body=body,
        deliver_notifications=deliver_notifications,
        display_at=display_at,
    )
    fields = ["status", "updated_at"]
    incident.status = plan.incident_status
    incident.updated_at = now
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = display_at
        fields.append("monitoring_at")
    if status == MaintenanceStatus.IN_PROGRESS and not was_closed:
        incident.started_at = min(display_at, now)
        fields.append("started_at")
    if impact is not None:
        incident.impact = impact
        fields.append("impact")

    if closing:
        if incident.started_at > display_at:
            # A maintenance closed before its window opened.
            incident.started_at = display_at
            fields.append("started_at")
        incident.resolved_at = display_at
        fields.append("resolved_at")
    elif was_closed and status not in CLOSED_STATUSES:
        # Reopening: the incident takes the components again.
        incident.resolved_at = None
        fields.append("resolved_at")
    incident.save(update_fields=fields)
    if plan.components:
        _apply_component_statuses(
            incident=incident,
            update=update,
            component_statuses=plan.component_statuses(),
            at=display_at,
            change_reason=change_reason,
        )
    if _announces(incident, update):
        record_event(kind=update_event_kind(incident), incident=incident, update=update)
    return update


def incident_resolve(
    *,
    incident: Incident,
    body: str,
    deliver_notifications: bool = True,
    resolved_at: dt.datetime | None = None,
    change_reason: str | None = None,
) -> IncidentUpdate:
    """Resolve an incident: components go back to operational unless something else holds them."""
    if incident.is_maintenance:
        raise ValidationError("Complete a maintenance with maintenance_complete.")
    return incident_post_update(
        incident=incident,
        status=IncidentStatus.RESOLVED,
        body=body,
        deliver_notifications=deliver_notifications,
        display_at=resolved_at,
        change_reason=change_reason,
    )


@transaction.atomic
def incident_publish(*, incident: Incident, deliver_notifications: bool = True) -> Incident:
    """Make a draft incident public, announcing it with its latest update."""
    changed = Incident.objects.filter(pk=incident.pk, is_draft=True).update(
        is_draft=False, updated_at=timezone.now()
    )
    public_changed()
    incident.refresh_from_db()
    if changed and deliver_notifications:
        record_event(
            kind=EventKind.INCIDENT_CREATED, incident=incident, update=incident.updates.first()
        )
    return incident


@transaction.atomic
def incident_edit(
    *,
    incident: Incident,
    name: str | None = None,
    impact: str | None = None,
    impact_override: str | None = None,
    metadata: dict[str, object] | None = None,
) -> Incident:
    """Rename an incident or maintenance, or change an incident's impact (no announcement).

    `None` keeps a field. `impact_override` is the impact a tool chose through the API (empty
    clears the choice); choosing one sets the impact too. `metadata` replaces the tool's JSON.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    fields = ["updated_at"]
    if name is not None:
        if not name.strip():
            raise ValidationError("An incident needs a name.")
        incident.name = clean_one_line(name.strip())
        fields.append("name")
    if impact_override:
        impact = impact_override
    if impact is not None:
        allowed = (
            [Impact.MAINTENANCE, Impact.NONE] if incident.is_maintenance else _INCIDENT_IMPACTS
        )
        if impact not in allowed:
            raise ValidationError(f"{impact!r} is not an impact this {incident.kind} can have.")
        incident.impact = impact
        fields.append("impact")
    if impact_override is not None:
        incident.impact_override = impact_override
        fields.append("impact_override")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ValidationError("Metadata must be a JSON object.")
        incident.metadata = metadata
        fields.append("metadata")
    incident.updated_at = timezone.now()
    incident.save(update_fields=fields)
    return incident


@transaction.atomic
def incident_delete(*, incident: Incident) -> None:
    """Delete an incident or maintenance posted by mistake, with its updates, notification
    events and their deliveries (mail not yet sent never goes).

    Components it still holds are released first, through the usual rule and without telling
    anyone; then its stretch leaves the components' history and uptime, as if it had never been.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_open:
        if incident.is_maintenance:
            maintenance_complete(maintenance=incident, deliver_notifications=False)
        else:
            incident_resolve(incident=incident, body="Deleted.", deliver_notifications=False)
    touched = (
        ComponentStatusChange.objects.filter(incident_public_id=incident.public_id)
        .values_list("component_id", flat=True)
        .distinct()
    )
    for component in Component.objects.filter(pk__in=list(touched)).order_by("pk"):
        component_forget_incident(component=component, incident_public_id=incident.public_id)
    incident.delete()
    public_changed()


@transaction.atomic
def maintenance_reschedule(
    *,
    maintenance: Incident,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    body: str = "",
    deliver_notifications: bool = False,
) -> Incident:
    """Move a maintenance's window; once it has started only its end can move.

    With a `body`, an update in the maintenance's current status says so on the page (and to
    subscribers, when `deliver_notifications`), in the same transaction.
    """
    maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
    if not maintenance.is_maintenance:
        raise ValidationError("Only a maintenance has a window.")
    if maintenance.status == MaintenanceStatus.COMPLETED:
        raise ValidationError("A completed maintenance cannot be rescheduled.")
    if scheduled_until <= scheduled_for:
        raise ValidationError("A maintenance window must end after it starts.")
    fields = ["scheduled_until", "updated_at"]
    if maintenance.status == MaintenanceStatus.SCHEDULED:
        maintenance.scheduled_for = maintenance.started_at = scheduled_for
        fields += ["scheduled_for", "started_at"]
    elif scheduled_for != maintenance.scheduled_for:
        raise ValidationError("A maintenance in progress cannot move its start.")
    maintenance.scheduled_until = scheduled_until
    maintenance.updated_at = timezone.now()
    maintenance.save(update_fields=fields)
    if body.strip():
        incident_post_update(
            incident=maintenance,
            status=maintenance.status,
            body=body,
            deliver_notifications=deliver_notifications,
        )
        maintenance.refresh_from_db()
    return maintenance


@transaction.atomic
def incident_save_postmortem(*, incident: Incident, body: str) -> Incident:
    """Save the postmortem's text without publishing it (or edit a published one)."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    body = clean_message(body)
    if incident.postmortem_published_at and not body.strip():
        raise ValidationError("A published postmortem cannot be emptied.")
    incident.postmortem_body = body
    incident.updated_at = incident.postmortem_updated_at = timezone.now()
    incident.save(update_fields=["postmortem_body", "postmortem_updated_at", "updated_at"])
    return incident


@transaction.atomic
def incident_publish_postmortem(
    *, incident: Incident, body: str | None = None, deliver_notifications: bool = True
) -> Incident:
    """Publish the postmortem of a resolved incident; the incident's status becomes postmortem."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_maintenance:
        raise ValidationError("Maintenances have no postmortem.")
    if incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM):
        raise ValidationError("Resolve the incident before publishing its postmortem.")
    if body is not None:
        incident.postmortem_body = clean_message(body)
    if not incident.postmortem_body.strip():
        raise ValidationError("The postmortem is empty.")
    now = timezone.now()
    incident.status = IncidentStatus.POSTMORTEM
    incident.postmortem_published_at = incident.postmortem_published_at or now
    incident.updated_at = now
    incident.save(
        update_fields=["postmortem_body", "status", "postmortem_published_at", "updated_at"]
    )
    if deliver_notifications and not incident.is_draft:
        record_event(kind=EventKind.POSTMORTEM_PUBLISHED, incident=incident)
    return incident


@dataclass(frozen=True)
class PastUpdate:
    """One update of a timeline entered after the fact, as it was posted: its time, status and
    message, and the component statuses it set (components it does not name keep theirs)."""

    at: dt.datetime
    status: str
    body: str
    component_statuses: ComponentStatuses = field(default_factory=dict)


@dataclass(frozen=True)
class EarlyComponent:
    """A component whose history begins after the past incident that names it starts."""

    component: Component
    tracked_since: dt.date


def components_starting_after(
    components: Iterable[Component], started_at: dt.datetime
) -> list[EarlyComponent]:
    """The components whose history (and uptime) begins after `started_at`: a past incident on
    them would fall outside what their uptime counts."""
    day = timezone.localdate(started_at)
    return [
        EarlyComponent(component=c, tracked_since=c.tracked_since)
        for c in components
        if c.tracked_since > day
    ]


def _check_component_starts(
    components: Iterable[Component], started_at: dt.datetime, move_component_starts: bool
) -> None:
    early = components_starting_after(components, started_at)
    if not early:
        return
    if not move_component_starts:
        names = ", ".join(f"{e.component} (from {e.tracked_since:%Y-%m-%d})" for e in early)
        raise ValidationError(
            f"The incident starts before the history of {names} begins. Move their start to "
            f"{timezone.localdate(started_at):%Y-%m-%d} to count it, or correct the dates."
        )
    for entry in early:
        component_move_start(component=entry.component, start_date=timezone.localdate(started_at))


def _past_timeline(
    *,
    started_at: dt.datetime,
    body: str,
    resolved_at: dt.datetime | None,
    updates: Sequence[PastUpdate],
    closing_status: str,
) -> list[PastUpdate]:
    """The timeline to write, in time order: the updates given, or one closing update with
    `body` at `resolved_at`."""
    if not updates:
        if resolved_at is None:
            raise ValidationError("A past incident needs the time it ended.")
        updates = [PastUpdate(at=resolved_at, status=closing_status, body=body)]
    timeline = sorted(updates, key=lambda u: u.at)
    if timeline[-1].status != closing_status:
        raise ValidationError("A past timeline ends with its closing update.")
    if timeline[-1].at <= started_at:
        raise ValidationError("A backfilled incident must end after it starts.")
    if timeline[0].at < started_at:
        raise ValidationError("An update of a past incident cannot come before its start.")
    if timeline[-1].at > timezone.now():
        raise ValidationError("A backfilled incident must be over.")
    return timeline


def _write_past_timeline(
    *,
    incident: Incident,
    timeline: Sequence[PastUpdate],
    initial: ComponentStatuses,
    reason: str,
) -> None:
    """Write a closed timeline as it happened: each update at its own time (created and
    updated then too), what each changed on the components, and the stretches the components
    spent in each status, recorded in their history and uptime. Today's statuses stay.

    The components hold their `initial` statuses from the incident's start; the first update
    records that change."""
    statuses: dict[Component, str] = {}
    since: dict[Component, dt.datetime] = {}
    stretches: list[tuple[Component, str, dt.datetime, dt.datetime]] = []
    changes: list[UpdateComponentChange] = []
    updates = []
    for past in timeline:
        body = clean_message(past.body)
        if not body.strip():
            raise ValidationError("Every update of a past timeline needs a message.")
        updates.append(
            IncidentUpdate(
                incident=incident,
                status=past.status,
                body=body,
                display_at=past.at,
                deliver_notifications=False,
                created_at=past.at,
                updated_at=past.at,
            )
        )
    IncidentUpdate.objects.bulk_create(updates)
    for number, (past, update) in enumerate(zip(timeline, updates, strict=True)):
        closing = number == len(timeline) - 1
        _check_component_statuses(past.component_statuses)
        if number == 0:
            # The first update tells what the incident began with, at its start.
            opening = dict(initial) if closing else {**initial, **past.component_statuses}
            for component, status in opening.items():
                statuses[component], since[component] = status, incident.started_at
                if not closing:
                    changes.append(
                        UpdateComponentChange(
                            update=update,
                            component=component,
                            old_status=ComponentStatus.OPERATIONAL,
                            new_status=status,
                        )
                    )
            if not closing:
                continue
        targets: dict[Component, str] = dict(past.component_statuses)
        if closing:
            targets = dict.fromkeys(statuses, ComponentStatus.OPERATIONAL)
        for component, new_status in targets.items():
            old_status = statuses.get(component, ComponentStatus.OPERATIONAL)
            if component in statuses and old_status == new_status:
                continue
            if component in since and old_status != ComponentStatus.OPERATIONAL:
                stretches.append((component, old_status, since[component], past.at))
            statuses[component], since[component] = new_status, past.at
            changes.append(
                UpdateComponentChange(
                    update=update, component=component, old_status=old_status, new_status=new_status
                )
            )
    UpdateComponentChange.objects.bulk_create(changes)
    IncidentComponent.objects.bulk_create(
        [
            IncidentComponent(incident=incident, component=c, status=status)
            for c, status in statuses.items()
        ]
    )
    for component, status, start, end in stretches:
        if end > start:
            component_record_past_status(
                component=component,
                status=status,
                start=start,
                end=end,
                reason=reason,
                incident_public_id=incident.public_id,
            )


@transaction.atomic
def incident_backfill(
    *,
    name: str,
    impact: str,
    started_at: dt.datetime,
    body: str = "",
    resolved_at: dt.datetime | None = None,
    updates: Sequence[PastUpdate] = (),
    component_statuses: ComponentStatuses | None = None,
    postmortem_body: str = "",
    postmortem_published_at: dt.datetime | None = None,
    move_component_starts: bool = False,
) -> Incident:
    """Enter an incident after the fact: resolved, marked backfilled, with no notifications.

    Its timeline is `updates` (the last one resolves it), or one resolving update saying `body`
    at `resolved_at`; `component_statuses` hold from the first update on. Every row takes the
    time it stands for, not the time of entry: the incident was created when it started and last
    updated when it ended (or its postmortem was published), each update when it was posted.
    Affected components get their stretches in their history (and uptime) but keep today's
    status. A component whose history begins after the incident starts is refused, unless
    `move_component_starts` moves its start back to the incident's day.
    """
    component_statuses = component_statuses or {}
    _check_component_statuses(component_statuses)
    timeline = _past_timeline(
        started_at=started_at,
        body=body,
        resolved_at=resolved_at,
        updates=updates,
        closing_status=IncidentStatus.RESOLVED,
    )
    # A "resolved" before the last update is kept as posted (the incident came back); the
    # components are released by the last one.
    allowed = [*UNRESOLVED_INCIDENT_STATUSES, IncidentStatus.RESOLVED]
    if any(u.status not in allowed for u in timeline[:-1]):
        raise ValidationError("A past incident's updates take the statuses of an incident.")
    resolved_at = timeline[-1].at
    postmortem_body = clean_message(postmortem_body)
    if postmortem_body.strip():
        postmortem_published_at = postmortem_published_at or resolved_at
        if postmortem_published_at < resolved_at or postmortem_published_at > timezone.now():
            raise ValidationError(
                "A postmortem is published after the incident is resolved, and not in the future."
            )
    elif postmortem_published_at is not None:
        raise ValidationError("A postmortem's publication date needs the postmortem.")
    else:
        postmortem_published_at = None
    named = set(component_statuses) | {c for u in timeline for c in u.component_statuses}
    _check_component_starts(named, started_at, move_component_starts)
    incident = Incident.objects.create(
        kind=Kind.INCIDENT,
        name=clean_one_line(name),
        impact=impact,
        status=IncidentStatus.POSTMORTEM if postmortem_published_at else IncidentStatus.RESOLVED,
        backfilled=True,
        started_at=started_at,
        monitoring_at=next((u.at for u in timeline if u.status == IncidentStatus.MONITORING), None),
        resolved_at=resolved_at,
        postmortem_body=postmortem_body if postmortem_published_at else "",
        postmortem_published_at=postmortem_published_at,
        created_at=started_at,
        updated_at=max(resolved_at, postmortem_published_at or resolved_at),
    )
    _write_past_timeline(
        incident=incident,
        timeline=timeline,
        initial=component_statuses,
        reason=ChangeReason.INCIDENT,
    )
    public_changed()
    return incident


@transaction.atomic
def maintenance_backfill(
    *,
    name: str,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    updates: Sequence[PastUpdate],
    components: Iterable[Component] = (),
    started_at: dt.datetime | None = None,
    move_component_starts: bool = False,
) -> Incident:
    """Enter a maintenance that is over, with its whole timeline, as incident_backfill does
    for an incident: completed, marked backfilled, no notifications, each row at its own time.

    The components are under maintenance from `started_at` (by default the first update that
    is no longer 'scheduled') until the completing update.
    """
    if scheduled_until <= scheduled_for:
        raise ValidationError("A maintenance window must end after it starts.")
    if not updates:
        raise ValidationError("A past maintenance needs its updates.")
    components = list(components)
    ordered = sorted(updates, key=lambda u: u.at)
    if any(u.status not in MAINTENANCE_STATUSES for u in ordered):
        raise ValidationError("A maintenance's updates take maintenance statuses.")
    began = started_at or next(
        (u.at for u in ordered if u.status != MaintenanceStatus.SCHEDULED), scheduled_for
    )
    # The components go under maintenance with the update that starts it (or a copy of the
    # first one's time when it began between updates).
    timeline = [
        PastUpdate(
            at=u.at,
            status=u.status,
            body=u.body,
            component_statuses=(
                dict.fromkeys(components, ComponentStatus.UNDER_MAINTENANCE)
                if u is next((v for v in ordered if v.at >= began), None)
                else u.component_statuses
            ),
        )
        for u in ordered
    ]
    timeline = _past_timeline(
        started_at=min(ordered[0].at, began),
        body="",
        resolved_at=None,
        updates=timeline,
        closing_status=MaintenanceStatus.COMPLETED,
    )
    _check_component_starts(components, began, move_component_starts)
    maintenance = Incident.objects.create(
        kind=Kind.MAINTENANCE,
        name=clean_one_line(name),
        impact=Impact.MAINTENANCE,
        status=MaintenanceStatus.COMPLETED,
        backfilled=True,
        started_at=min(began, timeline[-1].at),
        resolved_at=timeline[-1].at,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_transition=False,
        created_at=timeline[0].at,
        updated_at=timeline[-1].at,
    )
    _write_past_timeline(
        incident=maintenance, timeline=timeline, initial={}, reason=ChangeReason.MAINTENANCE
    )
    public_changed()
    return maintenance


@transaction.atomic
def maintenance_schedule(
    *,
    name: str,
    body: str,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    components: Iterable[Component] = (),
    deliver_notifications: bool = True,
    auto_transition: bool = True,
) -> Incident:
    """Schedule a maintenance window over some components."""
    if scheduled_until <= scheduled_for:
        raise ValidationError("A maintenance window must end after it starts.")
    if not name.strip():
        raise ValidationError("A maintenance needs a name.")
    name = clean_one_line(name.strip())
    now = timezone.now()
    maintenance = Incident.objects.create(
        kind=Kind.MAINTENANCE,
        name=name,
        status=MaintenanceStatus.SCHEDULED,
        impact=Impact.MAINTENANCE,
        started_at=scheduled_for,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_transition=auto_transition,
        created_at=now,
        updated_at=now,
    )
    IncidentComponent.objects.bulk_create(
        [
            IncidentComponent(
                incident=maintenance, component=c, status=ComponentStatus.UNDER_MAINTENANCE
            )
            for c in components
        ]
    )
    update = _new_update(
        incident=maintenance,
        status=MaintenanceStatus.SCHEDULED,
        body=body,
        deliver_notifications=deliver_notifications,
        display_at=now,
    )
    if deliver_notifications:
        record_event(kind=EventKind.MAINTENANCE_SCHEDULED, incident=maintenance, update=update)
    return maintenance


# What starting and completing a maintenance post when staff write nothing.
MAINTENANCE_STARTED_BODY = "The scheduled maintenance is now in progress."
MAINTENANCE_COMPLETED_BODY = "The scheduled maintenance has been completed."


def _starts(maintenance: Incident, status: str) -> bool:
    starting = status == MaintenanceStatus.IN_PROGRESS
    return starting and maintenance.status == MaintenanceStatus.SCHEDULED


def _completes(maintenance: Incident, status: str) -> bool:
    return status == MaintenanceStatus.COMPLETED and maintenance.status != status


def maintenance_update_body(*, maintenance: Incident, status: str, body: str) -> str:
    """The message of staff's update to a maintenance: starting or completing it with nothing
    written posts the standard message."""
    if body.strip():
        return body
    if _starts(maintenance, status):
        return MAINTENANCE_STARTED_BODY
    if _completes(maintenance, status):
        return MAINTENANCE_COMPLETED_BODY
    return body


def _maintenance_component_statuses(maintenance: Incident, status: str) -> dict[Component, str]:
    """Starting puts the components under maintenance; other updates set no status (completing
    releases them through the closing rule)."""
    if not _starts(maintenance, status):
        return {}
    return {
        link.component: ComponentStatus.UNDER_MAINTENANCE
        for link in maintenance.affected.select_related("component")
    }


def maintenance_update_plan(*, maintenance: Incident, status: str) -> UpdatePlan:
    """What `maintenance_post_update` will do: `incident_update_plan` with the maintenance's
    own rule for its components."""
    return incident_update_plan(
        incident=maintenance,
        status=status,
        component_statuses=_maintenance_component_statuses(maintenance, status),
    )


@transaction.atomic
def maintenance_post_update(
    *,
    maintenance: Incident,
    status: str,
    body: str = "",
    deliver_notifications: bool = True,
) -> IncidentUpdate:
    """Staff's update to a maintenance: starting it puts its components under maintenance,
    completing it releases them, and either posts the standard message when `body` is empty."""
    maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
    if not maintenance.is_maintenance:
        raise ValidationError("This is not a maintenance.")
    return incident_post_update(
        incident=maintenance,
        status=status,
        body=maintenance_update_body(maintenance=maintenance, status=status, body=body),
        component_statuses=_maintenance_component_statuses(maintenance, status),
        deliver_notifications=deliver_notifications,
    )


def maintenance_start(
    *,
    maintenance: Incident,
    body: str = MAINTENANCE_STARTED_BODY,
    deliver_notifications: bool = True,
    started_at: dt.datetime | None = None,
) -> IncidentUpdate:
    """Start a maintenance: its components go under maintenance. `started_at` (not in the
    future; now by default) is when it began: the scheduled start, for a late automatic start."""
    if not maintenance.is_maintenance:
        raise ValidationError("Only a maintenance can be started.")
    if maintenance.status != MaintenanceStatus.SCHEDULED:
        raise ValidationError("Only a scheduled maintenance can be started.")
    return incident_post_update(
        incident=maintenance,
        status=MaintenanceStatus.IN_PROGRESS,
        body=body,
        component_statuses=_maintenance_component_statuses(
            maintenance, MaintenanceStatus.IN_PROGRESS
        ),
        deliver_notifications=deliver_notifications,
        display_at=started_at,
    )


def maintenance_complete(
    *,
    maintenance: Incident,
    body: str = MAINTENANCE_COMPLETED_BODY,
    deliver_notifications: bool = True,
    completed_at: dt.datetime | None = None,
) -> IncidentUpdate:
    """Complete a maintenance: its components are released. `completed_at` (now by default) is
    when it ended: the scheduled end, for a late automatic completion."""
    if not maintenance.is_maintenance:
        raise ValidationError("Only a maintenance can be completed.")
    if maintenance.status == MaintenanceStatus.COMPLETED:
        raise ValidationError("This maintenance is already completed.")
    return incident_post_update(
        incident=maintenance,
        status=MaintenanceStatus.COMPLETED,
        body=body,
        deliver_notifications=deliver_notifications,
        display_at=completed_at,
    )


def maintenances_due(now: dt.datetime | None = None) -> tuple[list[Incident], list[Incident]]:
    """Maintenances whose window has opened (to start) or closed (to complete)."""
    now = now or timezone.now()
    auto = Incident.objects.maintenances().filter(auto_transition=True)
    to_start = list(auto.filter(status=MaintenanceStatus.SCHEDULED, scheduled_for__lte=now))
    to_complete = list(
        auto.filter(status__in=ACTIVE_MAINTENANCE_STATUSES, scheduled_until__lte=now)
    )
    return to_start, to_complete


def maintenances_advance(now: dt.datetime | None = None) -> tuple[int, int]:
    """Start the maintenances whose window opened and complete those whose window closed.

    The history keeps the scheduled times however late this runs (the scheduler was stopped):
    a maintenance starts at its `scheduled_for` and completes at its `scheduled_until`. One whose
    whole window passed meanwhile is started without an announcement, then completed with one,
    so subscribers never hear "now in progress" of a maintenance that has ended.

    Each transition is its own transaction; returns how many were started and completed.
    """
    now = now or timezone.now()
    to_start, to_complete = maintenances_due(now)
    started = completed = 0
    for maintenance in to_start:
        assert maintenance.scheduled_for is not None and maintenance.scheduled_until is not None
        try:
            maintenance_start(
                maintenance=maintenance,
                started_at=maintenance.scheduled_for,
                deliver_notifications=maintenance.scheduled_until > now,
            )
            started += 1
        except ValidationError:
            continue  # changed by staff meanwhile
    _, to_complete = maintenances_due(now)
    for maintenance in to_complete:
        assert maintenance.scheduled_until is not None
        try:
            maintenance_complete(
                maintenance=maintenance,
                completed_at=max(maintenance.scheduled_until, maintenance.started_at),
            )
            completed += 1
        except ValidationError:
            continue
    return started, completed


@transaction.atomic
def maintenance_record_reminders(*, lead_time: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Record one reminder event for each scheduled maintenance starting within `lead_time`.

    A maintenance gets at most one reminder (a unique constraint makes sure of it), and none
    if it was scheduled so late that its announcement already came within the lead time.
    """
    now = now or timezone.now()
    due = (
        Incident.objects.maintenance_upcoming()
        .public()
        .filter(scheduled_for__gt=now, scheduled_for__lte=now + lead_time)
        .filter(created_at__lt=models.F("scheduled_for") - lead_time)
        .exclude(events__kind=EventKind.MAINTENANCE_REMINDER)
    )
    count = 0
    for maintenance in due:
        record_event(kind=EventKind.MAINTENANCE_REMINDER, incident=maintenance)
        count += 1
    return count


@transaction.atomic
def incident_unpublish_postmortem(*, incident: Incident) -> Incident:
    """Take a published postmortem off the page: the incident is resolved again and the text
    stays, unpublished, for staff to edit (Statuspage's "revert")."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.postmortem_published_at is None:
        raise ValidationError("The postmortem is not published.")
    incident.status = IncidentStatus.RESOLVED
    incident.postmortem_published_at = None
    incident.updated_at = timezone.now()
    incident.save(update_fields=["status", "postmortem_published_at", "updated_at"])
    return incident


@transaction.atomic
def incident_delete_postmortem(*, incident: Incident) -> Incident:
    """Throw a postmortem away, unpublishing it first if it was published."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.postmortem_published_at is not None:
        incident = incident_unpublish_postmortem(incident=incident)
    now = timezone.now()
    incident.postmortem_body = ""
    incident.updated_at = incident.postmortem_updated_at = now
    incident.save(update_fields=["postmortem_body", "postmortem_updated_at", "updated_at"])
    return incident


@transaction.atomic
def incident_update_edit(
    *,
    update: IncidentUpdate,
    body: str | None = None,
    display_at: dt.datetime | None = None,
    deliver_notifications: bool | None = None,
) -> IncidentUpdate:
    """Correct a posted update's message, time or notification flag (nobody is told again).

    `None` keeps a field."""
    update = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
    fields = ["updated_at"]
    if body is not None:
        body = clean_message(body)
        if not body.strip():
            raise ValidationError("An update needs a message.")
        update.body = body
        fields.append("body")
    if display_at is not None:
        update.display_at = display_at
        fields.append("display_at")
    if deliver_notifications is not None:
        update.deliver_notifications = deliver_notifications
        fields.append("deliver_notifications")
    now = timezone.now()
    update.updated_at = now
    update.save(update_fields=fields)
    Incident.objects.filter(pk=update.incident_id).update(updated_at=now)
    public_changed()
    return update


@transaction.atomic
def component_change_status(
    *,
    component: Component,
    status: str,
    note: str = "",
    deliver_notifications: bool = True,
) -> ComponentStatusChange | None:
    """Set a component's status by hand (staff, or a tool through the API), outside any incident.

    The change lands in the history and uptime like any other, and the component's subscribers
    hear of it when `deliver_notifications`. Returns the change, or None if it had that status.
    """
    _check_component_statuses({component: status})
    change = component_set_status(
        component=component, status=status, reason=ChangeReason.MANUAL, note=note
    )
    if change is not None and deliver_notifications:
        record_event(kind=EventKind.COMPONENT_STATUS_CHANGED, status_change=change)
    return change
