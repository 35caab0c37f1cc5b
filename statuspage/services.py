"""Writes to components: every status change goes through `component_set_status`."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from statuspage import uptime
from statuspage.caching import public_changed
from statuspage.models import ChangeReason, Component, ComponentStatusChange


@transaction.atomic
def component_set_status(
    *,
    component: Component,
    status: str,
    reason: str = ChangeReason.MANUAL,
    at: dt.datetime | None = None,
    incident_public_id: str = "",
    note: str = "",
) -> ComponentStatusChange | None:
    """Change a component's status, record it in the history and roll up the closed stretch.

    Returns the recorded change, or None when the status was already `status`.
    """
    at = at or timezone.now()
    locked = Component.objects.select_for_update().get(pk=component.pk)
    if locked.status == status:
        return None
    if at < locked.status_changed_at:
        at = locked.status_changed_at
    change = ComponentStatusChange.objects.create(
        component=locked,
        from_status=locked.status,
        to_status=status,
        changed_at=at,
        reason=reason,
        incident_public_id=incident_public_id,
        note=note,
    )
    closed_from = locked.status_changed_at
    Component.objects.filter(pk=locked.pk).update(
        status=status, status_changed_at=at, updated_at=timezone.now()
    )
    component.status = status
    component.status_changed_at = at
    public_changed()
    uptime.rebuild_days(locked, timezone.localdate(closed_from), timezone.localdate(at))
    return change


@transaction.atomic
def component_record_past_status(
    *,
    component: Component,
    status: str,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    incident_public_id: str = "",
) -> None:
    """Record a closed stretch in the past (a backfilled incident) without touching the present.

    The component is taken to have been operational around the stretch.
    """
    if end <= start:
        raise ValueError("a past status needs an end after its start")
    if status == "operational":
        return
    ComponentStatusChange.objects.bulk_create(
        [
            ComponentStatusChange(
                component=component,
                from_status="operational",
                to_status=status,
                changed_at=start,
                reason=reason,
                incident_public_id=incident_public_id,
            ),
            ComponentStatusChange(
                component=component,
                from_status=status,
                to_status="operational",
                changed_at=end,
                reason=reason,
                incident_public_id=incident_public_id,
            ),
        ]
    )
    uptime.rebuild_days(component, timezone.localdate(start), timezone.localdate(end))
    public_changed()
