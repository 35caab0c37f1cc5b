"""The Statuspage webhook payloads (spec/statuspage-api-v2.md, "Webhook notifications").

Every object inside is built by website.serializers, the one place of the API's contract;
this module only assembles the envelope: `meta`, `page`, and `incident` or `component_update`
with `component`. The receiver tells the kind by which top-level key is present.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from incidents.models import Incident
from statuspage.models import Component, ComponentStatusChange
from statuspage.rollup import PageStatus
from website.serializers import (
    format_timestamp,
    serialize_component,
    serialize_incident,
    serialize_maintenance,
    serialize_page,
    serialize_status,
)

Json = dict[str, Any]


def documentation_url() -> str:
    return settings.SITE_URL + reverse("notifications:webhook_docs")


def meta(*, unsubscribe_url: str) -> Json:
    return {"unsubscribe": unsubscribe_url, "documentation": documentation_url()}


def page(status: PageStatus) -> Json:
    serialized = serialize_status(status)
    return {
        "id": serialize_page(updated_at=None)["id"],
        "status_indicator": serialized["indicator"],
        "status_description": serialized["description"],
    }


def incident_object(incident: Incident) -> Json:
    """The incident (or maintenance) object of the API, with the postmortem once published.

    `incident` must come through serializers.with_serialization_prefetches.
    """
    if incident.is_maintenance:
        return serialize_maintenance(incident)
    published = incident.postmortem_published_at is not None
    return serialize_incident(incident) | {
        "postmortem_body": incident.postmortem_body if published else None,
        "postmortem_published_at": format_timestamp(incident.postmortem_published_at),
    }


def incident_payload(*, incident: Incident, status: PageStatus, unsubscribe_url: str) -> Json:
    return {
        "meta": meta(unsubscribe_url=unsubscribe_url),
        "page": page(status),
        "incident": incident_object(incident),
    }


def component_payload(
    *,
    change: ComponentStatusChange,
    component: Component,
    status: PageStatus,
    unsubscribe_url: str,
) -> Json:
    """`component` must be public and fetched with select_related("group")."""
    return {
        "meta": meta(unsubscribe_url=unsubscribe_url),
        "page": page(status),
        "component_update": {
            "created_at": format_timestamp(change.changed_at),
            "new_status": change.to_status,
            "old_status": change.from_status,
            "id": str(change.pk),
            "component_id": component.public_id,
        },
        "component": serialize_component(component),
    }


def challenge_payload(*, challenge: str, unsubscribe_url: str) -> Json:
    """The confirmation request of an endpoint signed up on the public page: the endpoint
    answers 2xx with `challenge` echoed (see the webhooks page), and nothing else is sent to it
    before it does."""
    return {
        "meta": meta(unsubscribe_url=unsubscribe_url),
        "page": {"id": serialize_page(updated_at=None)["id"]},
        "challenge": challenge,
    }
