"""What the admin's home page shows first: open incidents and running maintenances with their
last update and its age, and the components that are not operational."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from incidents.admin import short_span
from incidents.models import Incident, IncidentUpdate, Kind
from statuspage.models import Component, ComponentStatus

register = template.Library()


@dataclass(frozen=True)
class OpenItem:
    incident: Incident
    last_update: IncidentUpdate | None
    age: str
    url: str
    update_url: str


@dataclass(frozen=True)
class StaffHome:
    open_items: list[OpenItem]
    troubled_components: list[tuple[Component, str]]
    upcoming: list[Incident]


def _may_see(user: Any, app_label: str, model_name: str) -> bool:
    return bool(
        user.has_perm(f"{app_label}.view_{model_name}")
        or user.has_perm(f"{app_label}.change_{model_name}")
    )


@register.simple_tag
def staff_home(user: Any) -> StaffHome:
    """What `user` may see of it: incidents, maintenances and components each need their view
    or change permission."""
    now = timezone.now()
    latest = Prefetch(
        "updates",
        queryset=IncidentUpdate.objects.order_by("-display_at", "-id"),
        to_attr="updates_newest_first",
    )
    items = []
    kinds = [
        kind
        for kind, model_name in ((Kind.INCIDENT, "incident"), (Kind.MAINTENANCE, "maintenance"))
        if _may_see(user, "incidents", model_name)
    ]
    open_items = Incident.objects.open().filter(kind__in=kinds).prefetch_related(latest)
    for incident in open_items.order_by("started_at"):
        newest = incident.updates_newest_first[0] if incident.updates_newest_first else None  # type: ignore[attr-defined]  # the Prefetch's to_attr
        since = newest.display_at if newest is not None else incident.started_at
        model = "maintenance" if incident.is_maintenance else "incident"
        url = reverse(f"admin:incidents_{model}_change", args=[incident.pk])
        items.append(
            OpenItem(
                incident=incident,
                last_update=newest,
                age=short_span(now - since),
                url=url,
                update_url=f"{url}#update-form",
            )
        )
    components = []
    if _may_see(user, "statuspage", "component"):
        components = [
            (component, short_span(now - component.status_changed_at))
            for component in Component.objects.exclude(status=ComponentStatus.OPERATIONAL)
            .select_related("group")
            .order_by("group__position", "group__name", "position", "name")
        ]
    upcoming = []
    if Kind.MAINTENANCE in kinds:
        upcoming = list(Incident.objects.maintenance_upcoming().order_by("scheduled_for")[:5])
    return StaffHome(open_items=items, troubled_components=components, upcoming=upcoming)
