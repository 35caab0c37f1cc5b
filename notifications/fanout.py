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
from notifications import coalescing, dispatch
from notifications.channels import CHANNELS
from notifications.models import Delivery, Subscriber
from notifications.sending import enqueue_sending
from statuspage.models import Component

# Subscribers read and deliveries inserted per round trip.
FAN_OUT_CHUNK = 1000
# Send tasks enqueued for the moments held deliveries fall due, per event and channel.
MAX_HELD_SENDS = 10


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
    due_now: Counter[str] = Counter()
    with transaction.atomic():
        claimed = OutboxEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
            processed_at=now
        )
        if not claimed:
            return None
        event = OutboxEvent.objects.select_related("incident", "status_change").get(pk=event_id)
        audience = event_audience(event).order_by("pk").values_list("pk", "kind")
        # Subscribers told of this incident within the interval wait for its end, coalesced.
        held = {
            kind: coalescing.held_until(event=event, channel=kind, now=now)
            for kind, channel in CHANNELS.items()
            if channel.coalesces and coalescing.coalesces(event)
        }
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
                        next_attempt_at=held.get(kind, {}).get(subscriber_id, now),
                    )
                    for subscriber_id, kind in chunk
                ],
                ignore_conflicts=True,
            )
            counts.update(kind for _, kind in chunk)
            due_now.update(kind for pk, kind in chunk if pk not in held.get(kind, {}))
            last_id = chunk[-1][0]
        for channel, count in due_now.items():
            enqueue_sending(channel, count)
        for channel, held_for in held.items():
            # The held deliveries' send, once they fall due (the sweeper is the safety net).
            for due in sorted(set(held_for.values()))[:MAX_HELD_SENDS]:
                dispatch.publish_after_commit("send_deliveries", channel, eta=due)
    return sum(counts.values())
