"""Sending: a send task claims a batch of due deliveries of one channel, sends each through the
channel and records the batch's outcomes; staff can queue failed deliveries again.

The loop knows nothing of any particular channel: it looks the channel class up by the
deliveries' kind (notifications.channels) and leaves the message, the wire and the meaning of a
refusal to it. Every accepted message is journaled before the next is sent, and the outcomes
reach the database once at the end (notifications/outcomes.py), so a new channel is
exactly-once without code of its own.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications import coalescing, dispatch, journal
from notifications.channels import channel_for
from notifications.channels.base import BatchEvents, Channel, NothingToSend, Unrenderable
from notifications.claims import Claim, ClaimLease, deliveries_claim
from notifications.models import Delivery, DeliveryStatus, Subscriber
from notifications.outcomes import BatchOutcomes, discard_journal
from notifications.transports import TransportError

logger = logging.getLogger(__name__)

# Send tasks enqueued at most per channel at once: a task drains batches while there are any,
# and one that runs out of time with work left enqueues the next itself, so a long list drains
# anyway. A few tasks let several workers share a backlog; more would only find nothing to do.
MAX_SEND_TASKS = 8
# Seconds a send task keeps claiming batches before it hands over to a fresh task.
SEND_TASK_SECONDS = 20.0


def enqueue_sending(channel: str, count: int, *, after_commit: bool = True) -> int:
    """Enqueue enough send tasks for `count` due deliveries of one channel; returns how many."""
    tasks = min(math.ceil(count / channel_for(channel).batch_size()), MAX_SEND_TASKS)
    for _ in range(tasks):
        if after_commit:
            dispatch.publish_after_commit("send_deliveries", channel)
        else:
            dispatch.publish("send_deliveries", channel)
    return tasks


def deliveries_send_batch(*, channel: str, limit: int | None = None) -> int:
    """Claim one batch of due deliveries of `channel` and send them; returns how many it claimed."""
    channel_class = channel_for(channel)
    claim = deliveries_claim(
        channel=channel,
        limit=limit or channel_class.batch_size(),
        coalesce=channel_class.coalesces,
    )
    if not claim.deliveries:
        return 0
    with ClaimLease(claim.token) as lease, channel_class(BatchEvents(claim.deliveries)) as sender:
        _send_claim(claim, sender, lease)
    return len(claim.deliveries)


def deliveries_send(*, channel: str, budget: float = SEND_TASK_SECONDS) -> int:
    """A send task's work: batch after batch while deliveries are due, for up to `budget`
    seconds; then, if the last batch was full, the next task is enqueued, so a long list drains
    without waiting for the sweeper and the worker takes other tasks (the sweep) in between.

    One task drains many batches: a backlog costs the broker a handful of tasks, not one per
    batch (an embedded broker that polls its queues pays for each task it hands out)."""
    size = channel_for(channel).batch_size()
    deadline = time.monotonic() + budget
    total = 0
    while True:
        claimed = deliveries_send_batch(channel=channel)
        total += claimed
        if claimed < size:
            return total
        if time.monotonic() >= deadline:
            dispatch.publish("send_deliveries", channel)
            return total


def _inactive_reason(subscriber: Subscriber) -> str | None:
    if subscriber.is_active:
        return None
    return {
        "disabled": "The subscriber is disabled.",
        "unsubscribed": "The subscriber unsubscribed.",
    }.get(subscriber.state, "The subscriber is not confirmed.")


def _send_claim(claim: Claim, channel: Channel, lease: ClaimLease) -> None:
    """Send each delivery of the claim, journal each accepted one at once, and write the
    outcomes to the database when the batch is over."""
    store = journal.journal()
    try:
        writer: journal.JournalWriter | None = store.writer(claim.token)
    except journal.JournalError:
        logger.warning("The send journal is unavailable; recording each message directly")
        writer = None
    outcomes = BatchOutcomes(claim.token, writer)
    disabled: set[int] = set()
    unrenderable: set[int] = set()
    planned = coalescing.messages(
        claim.deliveries, channel.batch.events, coalescing=channel.coalesces
    )
    try:
        for delivery, earlier in planned:
            if lease.lost:
                logger.warning("Claim %s was taken back while sending; stopping", claim.token)
                break
            if delivery.subscriber_id in disabled:
                reason: str | None = "The subscriber is disabled."
            else:
                reason = _inactive_reason(delivery.subscriber)
            if reason is not None:
                outcomes.cancel(delivery, reason)
            else:
                try:
                    if earlier:
                        channel.send_coalesced(delivery, earlier)
                    else:
                        channel.send(delivery)
                except NothingToSend:
                    outcomes.cancel(delivery, "Nothing public left to tell.")
                except Unrenderable as error:
                    if delivery.event_id not in unrenderable:
                        unrenderable.add(delivery.event_id)
                        logger.error(
                            "The message of event %s cannot be built: %s", delivery.event_id, error
                        )
                    outcomes.unsendable(
                        delivery, f"The message could not be built: {error}", now=timezone.now()
                    )
                except TransportError as error:
                    permanent = channel.permanent(error)
                    if outcomes.refused(
                        delivery, error.message, permanent=permanent, now=timezone.now()
                    ):
                        disabled.add(delivery.subscriber_id)
                else:
                    outcomes.accepted(delivery, timezone.now(), told_too=earlier)
                    continue
            for told in earlier:
                outcomes.follow(told, delivery)
    finally:
        if outcomes.writer is not None:
            outcomes.writer.close()
    outcomes.save(timezone.now())
    if writer is not None:
        discard_journal(store, claim.token)


def deliveries_resend(*, deliveries: QuerySet[Delivery]) -> int:
    """Staff queue failed or cancelled deliveries again, with a fresh set of attempts."""
    now = timezone.now()
    with transaction.atomic():
        chosen = deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.CANCELLED])
        counts = Counter(chosen.values_list("channel", flat=True))
        chosen.update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        for channel, count in counts.items():
            enqueue_sending(channel, count)
    return sum(counts.values())
