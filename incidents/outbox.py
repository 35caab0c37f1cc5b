"""Writing outbox events: called by the services inside their transaction.

Listeners of `event_recorded` (the notifications app) hear of each event once the transaction
has committed; if they miss it, the row is still there for their sweeper.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

from incidents.models import EventKind, Incident, IncidentUpdate, OutboxEvent
from statuspage.models import ComponentStatusChange

# Sent after commit with `event_id`.
event_recorded = Signal()


def record_event(
    *,
    kind: str,
    incident: Incident | None = None,
    update: IncidentUpdate | None = None,
    status_change: ComponentStatusChange | None = None,
) -> OutboxEvent:
    event = OutboxEvent.objects.create(
        kind=kind, incident=incident, update=update, status_change=status_change
    )
    transaction.on_commit(
        lambda: event_recorded.send(sender=OutboxEvent, event_id=event.pk), robust=True
    )
    return event


def update_event_kind(incident: Incident) -> str:
    return EventKind.MAINTENANCE_UPDATED if incident.is_maintenance else EventKind.INCIDENT_UPDATED
