"""Fan-out: an outbox event becomes one delivery per subscriber it concerns.

The event is claimed with a compare-and-swap on its `processed_at` inside the transaction that
inserts its deliveries: a second worker finds it taken, a crashed one rolls back and leaves it
to the sweeper. Deliveries are unique per (event, subscriber), so a repeat cannot double them.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from incidents.models import EventKind, OutboxEvent
from notifications.channels import CHANNELS
from notifications.models import Delivery, Subscriber
from notifications.sending import enqueue_sending
from statuspage.models import Component

# Subscribers read and deliveries inserted per round trip.
FAN_OUT_CHUNK = 1000


def event_audience(event: OutboxEvent) -> QuerySet[Subscriber]:
    """Active subscribers the event concerns: those whose channel tells events of its kind and
    who follow every component, or one of the public components it is about. Hidden components
    count for nobody; drafts reach no one."""
    none = Subscriber.objects.none()
    if event.kind == EventKind.COMPONENT_STATUS_CHANGED:
        change = event.status_change
        if change is None or (event.incident is not None and event.incident.is_draft):
            return none
        component_ids = list(
            Component.objects.public().filter(pk=change.component_id).values_list("pk", flat=True)
        )
        if not component_ids:
            return none
    else:
        if event.incident is None or event.incident.is_draft:
            return none
        component_ids = list(
            Component.objects.public()
            .filter(affected_by__incident=event.incident)
            .values_list("pk", flat=True)
        )
    kinds = [kind for kind, channel in CHANNELS.items() if channel.tells(event.kind)]
    return Subscriber.objects.active().filter(kind__in=kinds).following(component_ids)


def event_fan_out(*, event_id: int) -> int | None:
    """Create the deliveries of one outbox event; None if another worker already did.

    The claim and the inserts are one transaction: a worker that dies half-way leaves the
    event unclaimed for the sweeper, and a concurrent one waits for the claim and finds it gone.
    """
    now = timezone.now()
    counts: Counter[str] = Counter()
    with transaction.atomic():
        claimed = OutboxEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
            processed_at=now
        )
        if not claimed:
            return None
        event = OutboxEvent.objects.select_related("incident", "status_change").get(pk=event_id)
        audience = event_audience(event).order_by("pk").values_list("pk", "kind")
        last_id = 0
        while True:
            chunk = list(audience.filter(pk__gt=last_id)[:FAN_OUT_CHUNK])
            if not chunk:
                break
            Delivery.objects.bulk_create(
                [
                    Delivery(
                        event_id=event_id,
                        subscriber_id=subscriber_id,
                        channel=kind,
                        created_at=now,
                        next_attempt_at=now,
                    )
                    for subscriber_id, kind in chunk
                ],
                ignore_conflicts=True,
            )
            counts.update(kind for _, kind in chunk)
            last_id = chunk[-1][0]
        for channel, count in counts.items():
            enqueue_sending(channel, count)
    return sum(counts.values())
