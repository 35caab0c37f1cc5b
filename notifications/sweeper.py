"""Upkeep of the outbox on Celery beat: the sweeper picks up what the normal path missed, and
finished deliveries are pruned after the retention period.

The normal path enqueues every task after its commit; when the broker is down, or a worker dies,
the rows (unprocessed events, due deliveries, requested notices, expired claims) remain, and
the sweeper enqueues or takes them back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from incidents.models import OutboxEvent
from notifications import dispatch
from notifications.channels import CHANNELS
from notifications.claims import deliveries_release_expired
from notifications.fanout import event_fan_out
from notifications.models import Delivery, DeliveryStatus, Subscriber
from notifications.sending import enqueue_sending


@dataclass
class SweepResult:
    released: int = 0
    recovered: int = 0
    fanned_out: int = 0
    send_tasks: dict[str, int] = field(default_factory=dict)
    notices: int = 0
    challenges: int = 0


def outbox_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Pick up what the normal path missed: claims of stopped workers, events never fanned out,
    deliveries waiting for their retry, subscription notices never sent, webhook challenges
    due again (or never sent)."""
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.NOTIFY_SWEEP_GRACE_SECONDS)
    taken_back = deliveries_release_expired(now=now)
    result = SweepResult(released=taken_back.released, recovered=taken_back.recovered)

    stale_events = (
        OutboxEvent.objects.filter(processed_at__isnull=True, created_at__lte=now - grace)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:500]
    )
    for event_id in list(stale_events):
        if event_fan_out(event_id=event_id) is not None:
            result.fanned_out += 1

    for channel in CHANNELS:
        due = (
            Delivery.objects.due(now)
            .filter(channel=channel)
            .filter(Q(attempts__gt=0) | Q(created_at__lte=now - grace))
            .count()
        )
        if due:
            result.send_tasks[channel] = enqueue_sending(channel, due, after_commit=False)

    waiting = (
        Subscriber.objects.exclude(notice="")
        .filter(notice_requested_at__lte=now - grace)
        .values_list("pk", flat=True)[:500]
    )
    for subscriber_id in list(waiting):
        dispatch.publish("send_subscriber_notice", subscriber_id)
        result.notices += 1

    challenges = (
        Subscriber.objects.awaiting_challenge()
        .filter(
            Q(challenge_attempts__gt=0, challenge_next_at__lte=now)
            | Q(challenge_next_at__lte=now - grace)
        )
        .order_by("challenge_next_at")
        .values_list("pk", flat=True)[:500]
    )
    for subscriber_id in list(challenges):
        dispatch.publish("send_webhook_challenge", subscriber_id)
        result.challenges += 1
    return result


def deliveries_prune(*, now: dt.datetime | None = None, chunk: int = 5000) -> int:
    """Delete finished deliveries older than the retention period, a chunk at a time so no
    transaction grows with the table; pending and sending rows are never touched."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.NOTIFY_DELIVERY_RETENTION_DAYS)
    finished = [DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED]
    old = Delivery.objects.filter(status__in=finished, created_at__lt=cutoff)
    deleted = 0
    while ids := list(old.order_by("pk").values_list("pk", flat=True)[:chunk]):
        deleted += Delivery.objects.filter(pk__in=ids).delete()[0]
    return deleted
