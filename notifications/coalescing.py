"""Coalescing: a subscriber of a coalescing channel (email) gets at most one message per incident
per `NOTIFY_MIN_INTERVAL_SECONDS`, telling the latest state and what changed since the last one.

Nothing is dropped on the way. The fan-out still writes one delivery per event and subscriber,
but an incident event arriving within the interval of the subscriber's last message about that
incident is held (due when the interval ends), alongside any delivery already held for it. When
the held deliveries fall due they are claimed together, the newest carries the message (its
Message-ID is the newest delivery's) and the earlier ones are told in it and share its outcome:
sent, journaled and retried together. The first event of an incident is never held, and a
resolution waits at most the interval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db.models import Max, Min, Q
from django.db.models.functions import Coalesce

from incidents.models import EventKind, OutboxEvent
from notifications.models import Delivery, DeliveryStatus

# The events told together: an incident's opening and its updates. A postmortem (a document of
# its own), maintenance notices and reminders are always sent as they are.
COALESCED_KINDS = frozenset({EventKind.INCIDENT_CREATED, EventKind.INCIDENT_UPDATED})


def coalesces(event: OutboxEvent) -> bool:
    return (
        event.kind in COALESCED_KINDS
        and event.incident_id is not None
        and settings.NOTIFY_MIN_INTERVAL_SECONDS > 0
    )


def held_until(*, event: OutboxEvent, channel: str, now: dt.datetime) -> dict[int, dt.datetime]:
    """When the event's deliveries on `channel` fall due, for the subscribers whose delivery is
    held (those missing are due `now`): with a delivery already held for the incident, at the
    same moment; else at the end of the interval since the last message about it."""
    interval = dt.timedelta(seconds=settings.NOTIFY_MIN_INTERVAL_SECONDS)
    if event.incident_id is None:
        return {}
    rows = (
        Delivery.objects.filter(
            channel=channel, event__incident_id=event.incident_id, event__kind__in=COALESCED_KINDS
        )
        .exclude(event_id=event.pk)
        .values("subscriber_id")
        .annotate(
            held=Min("next_attempt_at", filter=Q(status=DeliveryStatus.PENDING)),
            told=Max(
                Coalesce("sent_at", "claimed_at"),
                filter=Q(status__in=[DeliveryStatus.SENT, DeliveryStatus.SENDING]),
            ),
        )
        .values_list("subscriber_id", "held", "told")
    )
    due: dict[int, dt.datetime] = {}
    for subscriber_id, held, told in rows:
        if held is not None:
            due[subscriber_id] = max(held, now)
        elif told is not None and told + interval > now:
            due[subscriber_id] = told + interval
    return due


def companions(deliveries: Iterable[Delivery], *, channel: str) -> list[int]:
    """Pending deliveries (held or due) of `channel` for the same subscriber and incident as one
    of `deliveries`, which the claim takes with them so that one message tells them all."""
    pairs = {
        (d.subscriber_id, d.event.incident_id)
        for d in deliveries
        if d.event.kind in COALESCED_KINDS and d.event.incident_id is not None
    }
    if not pairs or settings.NOTIFY_MIN_INTERVAL_SECONDS <= 0:
        return []
    rows = Delivery.objects.filter(
        status=DeliveryStatus.PENDING,
        channel=channel,
        subscriber_id__in={s for s, _ in pairs},
        event__incident_id__in={i for _, i in pairs},
        event__kind__in=COALESCED_KINDS,
    ).values_list("pk", "subscriber_id", "event__incident_id")
    return [pk for pk, subscriber_id, incident_id in rows if (subscriber_id, incident_id) in pairs]


def messages(
    deliveries: Sequence[Delivery], events: dict[int, OutboxEvent], *, coalescing: bool
) -> list[tuple[Delivery, list[Delivery]]]:
    """The messages a batch sends: each delivery that carries one, with the earlier deliveries
    it tells too (oldest first), in the order of the batch."""
    if not coalescing:
        return [(d, []) for d in deliveries]
    groups: dict[tuple[int, int] | int, list[Delivery]] = {}
    for delivery in deliveries:
        event = events[delivery.event_id]
        key: tuple[int, int] | int = (
            (delivery.subscriber_id, event.incident_id)
            if coalesces(event) and event.incident_id is not None
            else -delivery.pk - 1  # a group of its own
        )
        groups.setdefault(key, []).append(delivery)
    planned = []
    for group in groups.values():
        group.sort(key=lambda d: (events[d.event_id].created_at, d.event_id))
        planned.append((group[-1], group[:-1]))
    return planned
