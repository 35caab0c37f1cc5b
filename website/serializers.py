"""The Statuspage v2 serialization: one function per object, and the reads that feed them.

The API, the feeds, the badges and the webhook payloads all build their objects here, so the
contract in spec/statuspage-api-v2.md lives in exactly one place. Serializers never query the
database: they take rows already fetched by the selectors below, which load everything an
endpoint needs in a fixed number of queries whatever the number of incidents or components.

Hidden components (and the components of hidden groups) and draft incidents are filtered out by
the selectors, so nothing a serializer is given can leak them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone

from incidents.models import (
    Incident,
    IncidentComponent,
    IncidentQuerySet,
    IncidentUpdate,
    UpdateComponentChange,
)
from statuspage.branding import current_page
from statuspage.models import Component, ComponentGroup
from statuspage.rollup import PageStatus, overall_status, worst_component_status

# The most recent items a list endpoint returns.
LIST_LIMIT = 50

Json = dict[str, Any]


# Timestamps


def format_timestamp(value: dt.datetime | None) -> str | None:
    """ISO-8601 with milliseconds in the page's zone: 2022-12-14T05:04:00.000Z or ...-08:00."""
    if value is None:
        return None
    local = value.astimezone(timezone.get_default_timezone())
    text = local.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


# Reads


@dataclass(frozen=True)
class Catalog:
    """Every public component and group, in display order."""

    groups: list[ComponentGroup]
    components: list[Component]

    @cached_property
    def _children(self) -> dict[int, list[Component]]:
        children: dict[int, list[Component]] = defaultdict(list)
        for component in self.components:
            if component.group_id is not None:
                children[component.group_id].append(component)
        return children

    def children(self, group: ComponentGroup) -> list[Component]:
        return self._children.get(group.pk, [])

    @property
    def latest_change(self) -> dt.datetime | None:
        stamps = [c.updated_at for c in self.components] + [g.updated_at for g in self.groups]
        return max(stamps, default=None)


def load_catalog() -> Catalog:
    """Public components (with their group) and public groups: two queries.

    Each component's group is the catalog's own object, set in place of a join that would
    build a copy of its group for every component.
    """
    groups = list(ComponentGroup.objects.public())
    components = list(Component.objects.public())
    by_pk: dict[int | None, ComponentGroup] = {group.pk: group for group in groups}
    for component in components:
        group = by_pk.get(component.group_id)
        if group is not None:
            component.group = group
    return Catalog(groups=groups, components=components)


def public_components_prefetch(lookup: str = "components") -> Prefetch:
    return Prefetch(
        lookup,
        queryset=Component.objects.public().select_related("group"),
        to_attr="public_components",
    )


_Incidents = TypeVar("_Incidents", bound=QuerySet[Incident])


def with_serialization_prefetches(incidents: _Incidents) -> _Incidents:
    """Fetch what serialize_incident and serialize_maintenance read, in three extra queries:
    the public affected components, the updates, and the updates' public component changes."""
    changes = (
        UpdateComponentChange.objects.filter(component__in=Component.objects.public())
        .select_related("component")
        .order_by("component__position", "component__name", "component_id")
    )
    updates = IncidentUpdate.objects.prefetch_related(
        Prefetch("component_changes", queryset=changes, to_attr="public_component_changes")
    )
    return incidents.prefetch_related(
        public_components_prefetch(), Prefetch("updates", queryset=updates)
    )


def load_for_serialization(
    incidents: QuerySet[Incident], catalog: Catalog | None = None
) -> list[Incident]:
    """`incidents` fetched with what serialize_incident and serialize_maintenance read, their
    components taken from `catalog` (loaded here if not given) instead of joined again: three
    queries of the incidents, their updates, and plain ids of what they affect and change.

    Gives what with_serialization_prefetches gives, in the same order; a list endpoint spends
    less on this than on building that prefetch's joins, orderings and subquery.
    """
    catalog = catalog or load_catalog()
    found = list(incidents.prefetch_related("updates"))
    if not found:
        return found
    # The catalog holds the public components in display order, each with its group.
    by_pk = {component.pk: component for component in catalog.components}
    rank = {pk: index for index, pk in enumerate(by_pk)}
    affected: dict[int, list[int]] = defaultdict(list)
    links = IncidentComponent.objects.filter(incident_id__in=[i.pk for i in found])
    for incident_id, component_id in links.values_list("incident_id", "component_id"):
        if component_id in by_pk:
            affected[incident_id].append(component_id)
    updates = {update.pk: update for incident in found for update in incident.updates.all()}
    changed: dict[int, list[tuple[int, int, str, str]]] = defaultdict(list)
    rows = UpdateComponentChange.objects.filter(update_id__in=list(updates)).values_list(
        "update_id", "component_id", "old_status", "new_status"
    )
    for update_id, component_id, old_status, new_status in rows:
        if component_id in by_pk:
            changed[update_id].append((rank[component_id], component_id, old_status, new_status))
    for incident in found:
        ids = sorted(affected.get(incident.pk, ()), key=rank.__getitem__)
        incident.public_components = [by_pk[pk] for pk in ids]  # type: ignore[attr-defined]  # as the prefetch's to_attr
    for update_id, update in updates.items():
        update.public_component_changes = [  # type: ignore[attr-defined]  # as the prefetch's to_attr
            UpdateComponentChange(
                update=update, component=by_pk[component_id], old_status=old, new_status=new
            )
            for _, component_id, old, new in sorted(changed.get(update_id, ()))
        ]
    return found


def public_incidents() -> IncidentQuerySet:
    """Published incidents and maintenances, newest first, ready to serialize."""
    return with_serialization_prefetches(Incident.objects.public())


def page_updated_at(catalog: Catalog | None = None) -> dt.datetime | None:
    """The last change of anything public: a component, a group, an incident or maintenance.

    With a catalog already loaded this costs one query, otherwise three small aggregates.
    """
    if catalog is not None:
        stamps = [catalog.latest_change]
    else:
        stamps = [
            Component.objects.public().aggregate(latest=Max("updated_at"))["latest"],
            ComponentGroup.objects.public().aggregate(latest=Max("updated_at"))["latest"],
        ]
    stamps.append(Incident.objects.public().aggregate(latest=Max("updated_at"))["latest"])
    return max((s for s in stamps if s is not None), default=None)


def page_status(
    *, components: Iterable[Component], unresolved_incidents: Iterable[Incident]
) -> PageStatus:
    """The roll-up over public components and public unresolved incidents."""
    return overall_status(
        component_statuses=[c.status for c in components],
        incident_impacts=[i.impact for i in unresolved_incidents],
    )


def current_page_status() -> PageStatus:
    """The roll-up read straight from the database: two queries."""
    return overall_status(
        component_statuses=Component.objects.public().values_list("status", flat=True),
        incident_impacts=Incident.objects.public().unresolved().values_list("impact", flat=True),
    )


# Objects


def serialize_page(*, updated_at: dt.datetime | None) -> Json:
    return {
        "id": settings.STATUSPAGE_ID,
        "name": current_page().name,
        "url": settings.SITE_URL,
        "time_zone": settings.TIME_ZONE,
        "updated_at": format_timestamp(updated_at),
    }


def serialize_status(status: PageStatus) -> Json:
    return {"indicator": status.indicator, "description": status.description}


def serialize_component(component: Component) -> Json:
    """A component; its group must be loaded with it (select_related, or load_catalog)."""
    return {
        "id": component.public_id,
        "name": component.name,
        "status": component.status,
        "created_at": format_timestamp(component.created_at),
        "updated_at": format_timestamp(component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": format_date(component.start_date),
        "group_id": component.group.public_id if component.group else None,
        "page_id": settings.STATUSPAGE_ID,
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def serialize_group(group: ComponentGroup, children: Sequence[Component]) -> Json:
    """A group, listed as a component: its status is its worst public child's."""
    updated_at = max([group.updated_at] + [c.updated_at for c in children])
    return {
        "id": group.public_id,
        "name": group.name,
        "status": worst_component_status(c.status for c in children),
        "created_at": format_timestamp(group.created_at),
        "updated_at": format_timestamp(updated_at),
        "position": group.position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": settings.STATUSPAGE_ID,
        "group": True,
        "only_show_if_degraded": False,
        "components": [c.public_id for c in children],
    }


def serialize_components(catalog: Catalog) -> list[Json]:
    """Every public component in display order: each group followed by its children."""
    top_level: list[tuple[tuple[int, str], Json, list[Component]]] = []
    for group in catalog.groups:
        children = catalog.children(group)
        top_level.append(((group.position, group.name), serialize_group(group, children), children))
    for component in catalog.components:
        if component.group_id is None:
            top_level.append(
                ((component.position, component.name), serialize_component(component), [])
            )
    top_level.sort(key=lambda entry: entry[0])
    result = []
    for _, serialized, children in top_level:
        result.append(serialized)
        result.extend(serialize_component(child) for child in children)
    return result


def serialize_incident_update(update: IncidentUpdate) -> Json:
    """An update; fetch it through with_serialization_prefetches (for its component changes)."""
    changes: list[UpdateComponentChange] = update.public_component_changes  # type: ignore[attr-defined]  # the prefetch's to_attr
    return {
        "id": update.public_id,
        "status": update.status,
        "body": update.body,
        "incident_id": update.incident.public_id,
        "created_at": format_timestamp(update.created_at),
        "updated_at": format_timestamp(update.updated_at),
        "display_at": format_timestamp(update.display_at),
        "affected_components": [
            {
                "code": change.component.public_id,
                "name": change.component.name,
                "old_status": change.old_status,
                "new_status": change.new_status,
            }
            for change in changes
        ]
        or None,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def serialize_incident(incident: Incident) -> Json:
    """An incident; fetch it through with_serialization_prefetches."""
    components: list[Component] = incident.public_components  # type: ignore[attr-defined]  # the prefetch's to_attr
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "impact": incident.impact,
        "created_at": format_timestamp(incident.created_at),
        "updated_at": format_timestamp(incident.updated_at),
        "started_at": format_timestamp(incident.started_at),
        "monitoring_at": format_timestamp(incident.monitoring_at),
        "resolved_at": format_timestamp(incident.resolved_at),
        "shortlink": settings.SITE_URL + incident.get_absolute_url(),
        "page_id": settings.STATUSPAGE_ID,
        "incident_updates": [serialize_incident_update(u) for u in incident.updates.all()],
        "components": [serialize_component(c) for c in components],
    }


def serialize_maintenance(maintenance: Incident) -> Json:
    """A scheduled maintenance: the incident object plus its window."""
    return serialize_incident(maintenance) | {
        "scheduled_for": format_timestamp(maintenance.scheduled_for),
        "scheduled_until": format_timestamp(maintenance.scheduled_until),
    }
