"""Fan-out and sending: outbox events become deliveries, workers claim and send them, and the
sweeper picks up whatever a crashed worker or a broker outage left behind.

Exactly once, step by step:

- An event is fanned out inside one transaction that starts with a compare-and-swap on its
  `processed_at`; a second worker finds it taken, a crashed one rolls back and leaves it to
  the sweeper. Deliveries are unique per (event, subscriber), so no repeat can double them.
- A worker claims a batch of due deliveries by moving them from pending to sending under a
  fresh claim token. Each message the other side accepts goes to the claim's journal at once
  (notifications/journal.py), before the next is sent; the batch's outcomes reach the database
  in one transaction at the end. A worker killed mid-batch leaves its claim in `sending`; once
  the claim has timed out the sweeper records what the journal shows as accepted and hands
  only the rest back, so nothing accepted is sent again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, IntegerField, Q, QuerySet, TextField
from django.utils import timezone

from incidents.models import EventKind, Incident, OutboxEvent
from notifications import dispatch, journal, payloads, tokens
from notifications.emails import EventEmail, WireEmail, event_email
from notifications.models import Delivery, DeliveryStatus, Subscriber, SubscriberKind
from notifications.transports import (
    EmailTransport,
    TransportError,
    WebhookTransport,
    webhook_signature,
)
from statuspage.bulk import PerRow, in_chunks
from statuspage.models import Component
from statuspage.rollup import PageStatus
from website.serializers import current_page_status, with_serialization_prefetches

logger = logging.getLogger(__name__)

# Subscribers read and deliveries inserted per round trip during a fan-out.
FAN_OUT_CHUNK = 1000
# Send tasks the sweeper enqueues at most per channel and run.
SWEEP_MAX_TASKS = 100
CHANNELS = [SubscriberKind.EMAIL, SubscriberKind.WEBHOOK]


def batch_size(channel: str) -> int:
    if channel == SubscriberKind.EMAIL:
        return settings.NOTIFY_EMAIL_BATCH_SIZE
    return settings.NOTIFY_WEBHOOK_BATCH_SIZE


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: the base delay after the first attempt, doubling, up to the max."""
    seconds = settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


def enqueue_sending(channel: str, count: int, *, after_commit: bool = True) -> None:
    """Enqueue enough send tasks for `count` due deliveries of one channel."""
    tasks = min(math.ceil(count / batch_size(channel)), SWEEP_MAX_TASKS)
    for _ in range(tasks):
        if after_commit:
            dispatch.publish_after_commit("send_deliveries", channel)
        else:
            dispatch.publish("send_deliveries", channel)


# Fan-out


def event_audience(event: OutboxEvent) -> QuerySet[Subscriber]:
    """Active subscribers the event concerns: those who follow every component, or one of the
    public components it is about. Hidden components count for nobody; drafts reach no one;
    a component's own status change goes to webhooks only (emails tell the incident)."""
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
        kinds = [SubscriberKind.WEBHOOK]
    else:
        if event.incident is None or event.incident.is_draft:
            return none
        component_ids = list(
            Component.objects.public()
            .filter(affected_by__incident=event.incident)
            .values_list("pk", flat=True)
        )
        kinds = CHANNELS
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


# Claims


@dataclass
class Claim:
    token: str
    deliveries: list[Delivery] = field(default_factory=list)
    renewed_at: float = field(default_factory=time.monotonic)

    def keep_alive(self) -> bool:
        """Push the claim's expiry back when a long batch has used a third of it; False when
        the claim is gone (it expired and the sweeper took it back)."""
        if time.monotonic() - self.renewed_at < settings.NOTIFY_CLAIM_TIMEOUT_SECONDS / 3:
            return True
        held = Delivery.objects.filter(
            claim_token=self.token, status=DeliveryStatus.SENDING
        ).update(claimed_at=timezone.now())
        self.renewed_at = time.monotonic()
        return bool(held)


def deliveries_claim(*, channel: str, limit: int, now: dt.datetime | None = None) -> Claim:
    """Claim up to `limit` due deliveries of one channel, oldest first.

    The conditional update (still pending?) decides which worker gets a row; on PostgreSQL
    SKIP LOCKED lets concurrent workers pick different rows to begin with.
    """
    now = now or timezone.now()
    claim = Claim(token=uuid.uuid4().hex)
    for _ in range(3):
        with transaction.atomic():
            ids = list(
                Delivery.objects.due(now)
                .filter(channel=channel)
                .order_by("next_attempt_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:limit]
            )
            if not ids:
                return claim
            won = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.SENDING, claim_token=claim.token, claimed_at=now
            )
        if won:
            break
        # Every row went to another worker between our read and our update: look again.
    claim.deliveries = list(
        Delivery.objects.filter(claim_token=claim.token, status=DeliveryStatus.SENDING)
        .select_related("subscriber")
        .order_by("id")
    )
    return claim


@dataclass
class Released:
    """What taking back stopped workers' claims did: deliveries their journals showed as
    accepted (now recorded as sent), and deliveries handed back to be sent again."""

    recovered: int = 0
    released: int = 0


def deliveries_release_expired(*, now: dt.datetime | None = None, limit: int = 500) -> Released:
    """Take back the claims of workers that stopped mid-batch.

    What the worker's journal shows as accepted is recorded as sent; the rest goes back to
    pending, counted as an attempt (so a message that kills its worker every time ends up
    failed, not retried forever). A claim whose journal cannot be read is left for the next
    sweep: sending its messages again could send some twice.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.NOTIFY_CLAIM_TIMEOUT_SECONDS)
    tokens = list(
        Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff)
        .order_by()
        .values_list("claim_token", flat=True)
        .distinct()[:limit]
    )
    result = Released()
    store = journal.journal()
    for token in tokens:
        try:
            accepted = store.read(token)
        except journal.JournalError:
            logger.warning("Cannot read the journal of claim %s; retrying later", token)
            continue
        expired = Delivery.objects.filter(
            claim_token=token, status=DeliveryStatus.SENDING, claimed_at__lt=cutoff
        )
        with transaction.atomic():
            result.recovered += _mark_sent(expired, accepted)
            note = "The worker stopped while sending; tried again."
            result.released += expired.filter(
                attempts__gte=settings.NOTIFY_MAX_ATTEMPTS - 1
            ).update(
                status=DeliveryStatus.FAILED,
                claim_token="",
                claimed_at=None,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                last_error="The worker stopped while sending, too many times.",
            )
            result.released += expired.update(
                status=DeliveryStatus.PENDING,
                claim_token="",
                claimed_at=None,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                next_attempt_at=now,
                last_error=note,
            )
        _discard_journal(store, token)
    store.prune()
    return result


def _discard_journal(store: journal.Journal, token: str) -> None:
    try:
        store.discard(token)
    except journal.JournalError:
        logger.warning("Cannot discard the journal of claim %s; it expires", token)


# Recording outcomes, once per batch


def _mark_sent(claimed: QuerySet[Delivery], accepted: dict[int, dt.datetime]) -> int:
    """Record the accepted deliveries among `claimed` as sent, each at its own moment."""
    done = 0
    for chunk in in_chunks(accepted):
        moment = PerRow(Delivery, chunk, DateTimeField())
        done += claimed.filter(pk__in=chunk).update(
            status=DeliveryStatus.SENT,
            sent_at=moment,
            last_attempt_at=moment,
            attempts=F("attempts") + 1,
            claim_token="",
            claimed_at=None,
            last_error="",
        )
    return done


@dataclass
class _Streak:
    """What one batch did to a subscriber's run of failed deliveries."""

    before: int  # the run when the batch was claimed
    reset: bool = False  # a delivery got through, so the run starts again from zero
    added: int = 0  # failures for good since then (or since the batch began)
    last_error: str = ""


class _Outcomes:
    """The outcome of each delivery of a claim, kept in memory and written in one go.

    Accepted deliveries also go to the journal at once, before the next message is sent; if the
    journal cannot be written they are recorded in the database at once instead.
    """

    def __init__(self, claim: Claim, writer: journal.JournalWriter | None) -> None:
        self.claim = claim
        self.writer = writer
        self.sent: dict[int, dt.datetime] = {}
        self.retry: dict[int, tuple[str, dt.datetime, dt.datetime]] = {}
        self.failed: dict[int, tuple[str, dt.datetime]] = {}
        self.cancelled: dict[str, list[int]] = {}
        self.streaks: dict[int, _Streak] = {}
        self.recorded_now = 0

    def accepted(self, delivery: Delivery, now: dt.datetime) -> None:
        if self.writer is not None:
            try:
                self.writer.append(delivery.pk, now)
            except journal.JournalError:
                logger.warning("The send journal failed; recording each message directly")
                self.writer = None
        if self.writer is None:
            claimed = Delivery.objects.filter(
                claim_token=self.claim.token, status=DeliveryStatus.SENDING
            )
            self.recorded_now += _mark_sent(claimed, {delivery.pk: now})
        else:
            self.sent[delivery.pk] = now
        streak = self._streak(delivery)
        streak.reset, streak.added = True, 0

    def _streak(self, delivery: Delivery) -> _Streak:
        subscriber = delivery.subscriber
        if subscriber.pk not in self.streaks:
            self.streaks[subscriber.pk] = _Streak(before=subscriber.consecutive_failures)
        return self.streaks[subscriber.pk]

    def refused(self, delivery: Delivery, error: TransportError, now: dt.datetime) -> bool:
        """Note a failed attempt; True when it disables the subscriber (so the rest of the
        batch skips it)."""
        message = error.message[:2000]
        attempts = delivery.attempts + 1
        if not error.permanent and attempts < settings.NOTIFY_MAX_ATTEMPTS:
            self.retry[delivery.pk] = (message, now, now + retry_delay(attempts))
            return False
        self.failed[delivery.pk] = (message, now)
        streak = self._streak(delivery)
        streak.added += 1
        streak.last_error = message
        run = streak.added + (0 if streak.reset else streak.before)
        return run >= settings.NOTIFY_DISABLE_AFTER_FAILURES

    def cancel(self, delivery: Delivery, reason: str) -> None:
        self.cancelled.setdefault(reason, []).append(delivery.pk)

    def save(self, now: dt.datetime) -> int:
        """Write every outcome, in one transaction; returns how many rows were still ours."""
        claimed = Delivery.objects.filter(
            claim_token=self.claim.token, status=DeliveryStatus.SENDING
        )
        released = {"claim_token": "", "claimed_at": None}
        with transaction.atomic():
            done = _mark_sent(claimed, self.sent)
            for chunk in in_chunks(self.retry):
                done += claimed.filter(pk__in=chunk).update(
                    status=DeliveryStatus.PENDING,
                    attempts=F("attempts") + 1,
                    last_error=PerRow(
                        Delivery, {pk: e for pk, (e, _, _) in chunk.items()}, TextField()
                    ),
                    last_attempt_at=PerRow(
                        Delivery, {pk: at for pk, (_, at, _) in chunk.items()}, DateTimeField()
                    ),
                    next_attempt_at=PerRow(
                        Delivery, {pk: at for pk, (_, _, at) in chunk.items()}, DateTimeField()
                    ),
                    **released,
                )
            for chunk in in_chunks(self.failed):
                done += claimed.filter(pk__in=chunk).update(
                    status=DeliveryStatus.FAILED,
                    attempts=F("attempts") + 1,
                    last_error=PerRow(
                        Delivery, {pk: e for pk, (e, _) in chunk.items()}, TextField()
                    ),
                    last_attempt_at=PerRow(
                        Delivery, {pk: at for pk, (_, at) in chunk.items()}, DateTimeField()
                    ),
                    **released,
                )
            for reason, ids in self.cancelled.items():
                done += claimed.filter(pk__in=ids).update(
                    status=DeliveryStatus.CANCELLED, last_error=reason, **released
                )
            self._save_streaks(now)
        return done + self.recorded_now

    def _save_streaks(self, now: dt.datetime) -> None:
        """Carry the batch's failures over to the subscribers' runs, and disable those whose
        run reached the limit."""
        restarted = {
            pk: s.added for pk, s in self.streaks.items() if s.reset and (s.before or s.added)
        }
        if restarted:
            Subscriber.objects.filter(pk__in=restarted).update(
                consecutive_failures=PerRow(Subscriber, restarted, IntegerField())
            )
        grown = {pk: s.added for pk, s in self.streaks.items() if s.added and not s.reset}
        if grown:
            Subscriber.objects.filter(pk__in=grown).update(
                consecutive_failures=F("consecutive_failures")
                + PerRow(Subscriber, grown, IntegerField())
            )
        failing = [pk for pk, s in self.streaks.items() if s.added]
        if not failing:
            return
        limit = settings.NOTIFY_DISABLE_AFTER_FAILURES
        reasons = {
            pk: f"{limit} deliveries in a row failed. The last one: {s.last_error}"[:2000]
            for pk, s in self.streaks.items()
            if s.added
        }
        Subscriber.objects.filter(
            pk__in=failing, disabled_at__isnull=True, consecutive_failures__gte=limit
        ).update(disabled_at=now, disabled_reason=PerRow(Subscriber, reasons, TextField()))


def _inactive_reason(subscriber: Subscriber) -> str | None:
    if subscriber.is_active:
        return None
    return {
        "disabled": "The subscriber is disabled.",
        "unsubscribed": "The subscriber unsubscribed.",
    }.get(subscriber.state, "The subscriber is not confirmed.")


# Sending


class _Batch:
    """What every delivery of a claim needs, loaded once: events, public incidents, and for
    webhooks the page status and the public components of status changes."""

    def __init__(self, deliveries: Iterable[Delivery]) -> None:
        event_ids = {d.event_id for d in deliveries}
        self.events = {
            e.pk: e
            for e in OutboxEvent.objects.filter(pk__in=event_ids).select_related("status_change")
        }
        incident_ids = {e.incident_id for e in self.events.values() if e.incident_id}
        self.incidents: dict[int, Incident] = {
            i.pk: i
            for i in with_serialization_prefetches(
                Incident.objects.public().filter(pk__in=incident_ids)
            )
        }
        self._emails: dict[int, EventEmail] = {}
        self._status: PageStatus | None = None
        self._components: dict[int, Component] | None = None

    def email(self, event: OutboxEvent) -> EventEmail | None:
        if event.kind == EventKind.COMPONENT_STATUS_CHANGED:
            return None
        incident = self.incidents.get(event.incident_id)
        if incident is None:
            return None
        if event.pk not in self._emails:
            self._emails[event.pk] = event_email(
                kind=event.kind, incident=incident, update_id=event.update_id
            )
        return self._emails[event.pk]

    def page_status(self) -> PageStatus:
        if self._status is None:
            self._status = current_page_status()
        return self._status

    def public_component(self, component_id: int) -> Component | None:
        if self._components is None:
            ids = {e.status_change.component_id for e in self.events.values() if e.status_change}
            self._components = {
                c.pk: c
                for c in Component.objects.public().select_related("group").filter(pk__in=ids)
            }
        return self._components.get(component_id)

    def webhook_payload(self, event: OutboxEvent, subscriber: Subscriber) -> dict | None:
        unsubscribe = tokens.unsubscribe_url(subscriber)
        if event.kind == EventKind.COMPONENT_STATUS_CHANGED:
            change = event.status_change
            component = self.public_component(change.component_id) if change else None
            if component is None:
                return None
            return payloads.component_payload(
                change=change,
                component=component,
                status=self.page_status(),
                unsubscribe_url=unsubscribe,
            )
        incident = self.incidents.get(event.incident_id)
        if incident is None:
            return None
        return payloads.incident_payload(
            incident=incident, status=self.page_status(), unsubscribe_url=unsubscribe
        )


def deliveries_send_batch(*, channel: str, limit: int | None = None) -> int:
    """Claim one batch of due deliveries of `channel` and send them; returns how many it claimed."""
    claim = deliveries_claim(channel=channel, limit=limit or batch_size(channel))
    if not claim.deliveries:
        return 0
    batch = _Batch(claim.deliveries)
    if channel == SubscriberKind.EMAIL:
        with EmailTransport() as transport:
            _send_claim(claim, lambda delivery: _send_email(transport, batch, delivery))
    else:
        with WebhookTransport() as transport:
            _send_claim(claim, lambda delivery: _send_webhook(transport, batch, delivery))
    return len(claim.deliveries)


def deliveries_send(*, channel: str) -> int:
    """A send task's work: one batch and, when the batch was full, the next task enqueued, so
    a long list drains without waiting for the sweeper."""
    claimed = deliveries_send_batch(channel=channel)
    if claimed >= batch_size(channel):
        dispatch.publish("send_deliveries", channel)
    return claimed


class _NothingToSend(Exception):
    """The event has nothing public left to tell this subscriber."""


def _send_claim(claim: Claim, send: Callable[[Delivery], None]) -> None:
    """Send each delivery of the claim, journal each accepted one at once, and write the
    outcomes to the database when the batch is over."""
    store = journal.journal()
    try:
        writer: journal.JournalWriter | None = store.writer(claim.token)
    except journal.JournalError:
        logger.warning("The send journal is unavailable; recording each message directly")
        writer = None
    outcomes = _Outcomes(claim, writer)
    disabled: set[int] = set()
    try:
        for delivery in claim.deliveries:
            if not claim.keep_alive():
                logger.warning("Claim %s expired while sending; stopping this batch", claim.token)
                break
            if delivery.subscriber_id in disabled:
                reason: str | None = "The subscriber is disabled."
            else:
                reason = _inactive_reason(delivery.subscriber)
            if reason is not None:
                outcomes.cancel(delivery, reason)
                continue
            try:
                send(delivery)
            except _NothingToSend:
                outcomes.cancel(delivery, "Nothing public left to tell.")
            except TransportError as error:
                if outcomes.refused(delivery, error, timezone.now()):
                    disabled.add(delivery.subscriber_id)
            else:
                outcomes.accepted(delivery, timezone.now())
    finally:
        if outcomes.writer is not None:
            outcomes.writer.close()
    outcomes.save(timezone.now())
    if writer is not None:
        _discard_journal(store, claim.token)


def _send_email(transport: EmailTransport, batch: _Batch, delivery: Delivery) -> None:
    content = batch.email(batch.events[delivery.event_id])
    if content is None:
        raise _NothingToSend
    subscriber = delivery.subscriber
    wire = content.wire if transport.speaks_smtp and WireEmail.fits(subscriber.email) else None
    if wire is not None:
        data = wire.for_subscriber(subscriber, delivery_id=delivery.pk)
        transport.send_bytes(sender=wire.sender, recipient=subscriber.email, data=data)
    else:
        transport.send(content.for_subscriber(subscriber, delivery_id=delivery.pk))


def _send_webhook(transport: WebhookTransport, batch: _Batch, delivery: Delivery) -> None:
    subscriber = delivery.subscriber
    event = batch.events[delivery.event_id]
    payload = batch.webhook_payload(event, subscriber)
    if payload is None:
        raise _NothingToSend
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "X-Statuspage-Signature": webhook_signature(subscriber.secret, body),
        "X-Statuspage-Event": event.kind,
        "X-Statuspage-Delivery": str(delivery.pk),
    }
    transport.post(
        url=subscriber.url, body=body, headers=headers, public_only=subscriber.self_registered
    )


# Staff actions


def deliveries_resend(*, deliveries: QuerySet[Delivery]) -> int:
    """Queue failed or cancelled deliveries again, with a fresh set of attempts."""
    now = timezone.now()
    with transaction.atomic():
        chosen = deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.CANCELLED])
        counts = Counter(chosen.values_list("channel", flat=True))
        chosen.update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        for channel, count in counts.items():
            enqueue_sending(channel, count)
    return sum(counts.values())


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


# The sweeper


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
            enqueue_sending(channel, due, after_commit=False)
            result.send_tasks[channel] = min(math.ceil(due / batch_size(channel)), SWEEP_MAX_TASKS)

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
