"""The Manage API's objects: the v2 objects of website.serializers plus the manage fields.

Staff see everything here, hidden components and draft incidents included, so the reads below
load every row rather than the public ones; the object shapes come from the one v2 serializer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from incidents.models import (
    EventKind,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    UpdateComponentChange,
)
from statuspage.models import Component, ComponentGroup
from website.serializers import (
    Catalog,
    format_timestamp,
    serialize_component,
    serialize_components,
    serialize_incident,
    serialize_incident_update,
    serialize_maintenance,
)

Json = dict[str, Any]


def all_components() -> QuerySet[Component]:
    return Component.objects.select_related("group")


def catalog() -> Catalog:
    """Every group and component, hidden ones too."""
    groups = list(ComponentGroup.objects.all())
    components = list(Component.objects.all())
    by_pk = {group.pk: group for group in groups}
    for component in components:
        if component.group_id is not None:
            component.group = by_pk[component.group_id]
    return Catalog(groups=groups, components=components)


def manage_component(component: Component) -> Json:
    return serialize_component(component) | {"automation_email": None}


def manage_components(everything: Catalog) -> list[Json]:
    return [
        item | {"automation_email": None} if not item["group"] else item
        for item in serialize_components(everything)
    ]


def manage_group(group: ComponentGroup, children: Iterable[Component]) -> Json:
    return {
        "id": group.public_id,
        "page_id": settings.STATUSPAGE_ID,
        "name": group.name,
        "description": group.description or None,
        "components": [c.public_id for c in children],
        "position": group.position,
        "created_at": format_timestamp(group.created_at),
        "updated_at": format_timestamp(group.updated_at),
    }


def incidents_for_api(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Incidents with what the v2 serializer reads, every component included."""
    changes = UpdateComponentChange.objects.select_related("component__group").order_by(
        "component__position", "component__name", "component_id"
    )
    updates = IncidentUpdate.objects.prefetch_related(
        Prefetch("component_changes", queryset=changes, to_attr="public_component_changes")
    )
    return incidents.prefetch_related(
        Prefetch("components", queryset=all_components(), to_attr="public_components"),
        Prefetch("updates", queryset=updates),
    )


def load_incident(incident: Incident) -> Incident:
    return incidents_for_api(Incident.objects.filter(pk=incident.pk)).get()


def _postmortem_notified(incident: Incident) -> bool:
    return incident.events.filter(kind=EventKind.POSTMORTEM_PUBLISHED).exists()


def manage_incident(incident: Incident) -> Json:
    """An incident or maintenance (load it through incidents_for_api)."""
    if incident.is_maintenance:
        base = serialize_maintenance(incident)
    else:
        base = serialize_incident(incident) | {"scheduled_for": None, "scheduled_until": None}
    maintenance = incident.is_maintenance
    auto = incident.auto_transition if maintenance else None
    return base | {
        "impact_override": incident.impact_override or None,
        "metadata": incident.metadata or {},
        "backfilled": incident.backfilled,
        "postmortem_body": incident.postmortem_body or None,
        "postmortem_body_last_updated_at": format_timestamp(incident.postmortem_updated_at),
        "postmortem_ignored": False,
        "postmortem_notified_subscribers": (
            _postmortem_notified(incident) if incident.postmortem_published_at else False
        ),
        "postmortem_notified_twitter": False,
        "postmortem_published_at": format_timestamp(incident.postmortem_published_at),
        "scheduled_remind_prior": maintenance or None,
        "scheduled_reminded_at": None,
        "scheduled_auto_in_progress": auto,
        "scheduled_auto_completed": auto,
        "auto_transition_to_maintenance_state": auto,
        "auto_transition_to_operational_state": auto,
        "auto_transition_deliver_notifications_at_start": auto,
        "auto_transition_deliver_notifications_at_end": auto,
        "reminder_intervals": None,
    }


def manage_update(update: IncidentUpdate) -> Json:
    loaded = (
        IncidentUpdate.objects.filter(pk=update.pk)
        .select_related("incident")
        .prefetch_related(
            Prefetch(
                "component_changes",
                queryset=UpdateComponentChange.objects.select_related("component"),
                to_attr="public_component_changes",
            )
        )
        .get()
    )
    return serialize_incident_update(loaded) | {
        "wants_twitter_update": False,
        "twitter_updated_at": None,
    }


def manage_postmortem(incident: Incident) -> Json:
    published = incident.postmortem_published_at is not None
    return {
        "body": incident.postmortem_body if published else None,
        "body_draft": incident.postmortem_body or None,
        "body_updated_at": format_timestamp(incident.postmortem_updated_at) if published else None,
        "body_draft_updated_at": format_timestamp(incident.postmortem_updated_at),
        "published_at": format_timestamp(incident.postmortem_published_at),
        "notify_subscribers": _postmortem_notified(incident) if published else False,
        "notify_twitter": False,
        "custom_tweet": None,
        "created_at": format_timestamp(incident.created_at),
        "updated_at": format_timestamp(incident.updated_at),
        "preview_key": None,
    }


def manage_template(template: IncidentTemplate) -> Json:
    return {
        "id": str(template.pk),
        "name": template.name,
        "title": template.incident_name,
        "body": template.body,
        "group_id": None,
        "update_status": template.status,
        "should_tweet": False,
        "should_send_notifications": True,
        "components": [manage_component(c) for c in template.components.select_related("group")],
    }
