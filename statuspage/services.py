"""Writes to components (every status change goes through `component_set_status`) and to the
page settings."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from statuspage import uptime
from statuspage.models import (
    ChangeReason,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    PageSettings,
)
from statuspage.version import public_changed


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
    if status == ComponentStatus.OPERATIONAL:
        return
    ComponentStatusChange.objects.bulk_create(
        [
            ComponentStatusChange(
                component=component,
                from_status=ComponentStatus.OPERATIONAL,
                to_status=status,
                changed_at=start,
                reason=reason,
                incident_public_id=incident_public_id,
            ),
            ComponentStatusChange(
                component=component,
                from_status=status,
                to_status=ComponentStatus.OPERATIONAL,
                changed_at=end,
                reason=reason,
                incident_public_id=incident_public_id,
            ),
        ]
    )
    uptime.rebuild_days(component, timezone.localdate(start), timezone.localdate(end))
    public_changed()


@transaction.atomic
def component_move_start(*, component: Component, start_date: dt.date) -> None:
    """Move back the first day a component's history (and uptime) counts, so a past incident
    entered later counts too; a start already on or before `start_date` stays."""
    locked = Component.objects.select_for_update().get(pk=component.pk)
    if locked.tracked_since <= start_date:
        return
    Component.objects.filter(pk=locked.pk).update(start_date=start_date)
    component.start_date = start_date
    public_changed()


@transaction.atomic
def component_forget_incident(*, component: Component, incident_public_id: str) -> int:
    """Take an incident's status changes out of a component's history (the incident was
    deleted); returns how many were taken out.

    The changes after them are linked up again (a change that no longer changes anything goes
    too) and the days they covered are rolled up afresh. The present status stays: if the history
    would now end in another status, one change to the present status is kept where the
    incident's last one was.
    """
    locked = Component.objects.select_for_update().get(pk=component.pk)
    history = ComponentStatusChange.objects.filter(component=locked)
    forgotten = list(
        history.filter(incident_public_id=incident_public_id).order_by("changed_at", "id")
    )
    if not forgotten:
        return 0
    first, last = forgotten[0], forgotten[-1]
    history.filter(pk__in=[change.pk for change in forgotten]).delete()
    status = first.from_status
    latest: ComponentStatusChange | None = (
        history.filter(
            Q(changed_at__lt=first.changed_at) | Q(changed_at=first.changed_at, pk__lt=first.pk)
        )
        .order_by("-changed_at", "-id")
        .first()
    )
    after = history.filter(
        Q(changed_at__gt=first.changed_at) | Q(changed_at=first.changed_at, pk__gt=first.pk)
    ).order_by("changed_at", "id")
    for change in after:
        if change.from_status != status:
            if change.to_status == status:
                change.delete()
                continue
            change.from_status = status
            change.save(update_fields=["from_status"])
        status = change.to_status
        latest = change
    if status != locked.status:
        latest = ComponentStatusChange.objects.create(
            component=locked,
            from_status=status,
            to_status=locked.status,
            changed_at=max(last.changed_at, latest.changed_at if latest else last.changed_at),
            reason=ChangeReason.MANUAL,
            note=f"Kept when incident {incident_public_id} was deleted.",
        )
    since = latest.changed_at if latest else locked.created_at
    Component.objects.filter(pk=locked.pk).update(status_changed_at=since)
    public_changed()
    uptime.rebuild_days(
        locked, timezone.localdate(first.changed_at), timezone.localdate(timezone.now())
    )
    return len(forgotten)


def heartbeat_record(*, kind: str, name: str = "", at: dt.datetime | None = None) -> None:
    """Note that a background process is alive now.

    One statement (an insert that updates the row on conflict), so processes beating at the same
    moment never collide and the table keeps one row per kind and name.
    """
    from statuspage.models import Heartbeat

    Heartbeat.objects.bulk_create(
        [Heartbeat(kind=kind, name=name, last_seen_at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["kind", "name"],
        update_fields=["last_seen_at"],
    )


# The page settings' fields a write may change: the text, the switches and the colours
# (logos are uploads, made in the admin).
PAGE_SETTINGS_FIELDS = (
    "name", "url", "headline", "page_description", "support_url", "hidden_from_search",
    "allow_page_subscribers", "allow_incident_subscribers", "allow_email_subscribers",
    "allow_webhook_subscribers", "allow_rss_atom_feeds", "notifications_from_email",
    "notifications_email_footer", "css_body_background_color", "css_font_color",
    "css_light_font_color", "css_link_color", "css_border_color", "css_greens", "css_yellows",
    "css_oranges", "css_reds", "css_blues", "css_graph_color", "css_no_data",
)  # fmt: skip


@transaction.atomic
def page_settings_update(*, changes: dict[str, str | bool]) -> PageSettings:
    """Change some of the page settings (`PAGE_SETTINGS_FIELDS`) and save the one row.

    The row is validated as the admin validates it (colours below contrast included): a
    ValidationError leaves it as it was. Saving moves the public version.
    """
    unknown = sorted(set(changes) - set(PAGE_SETTINGS_FIELDS))
    if unknown:
        raise ValueError(f"not page settings fields: {', '.join(unknown)}")
    row = PageSettings.objects.select_for_update().filter(pk=1).first() or PageSettings(pk=1)
    for name, value in changes.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row
