"""Claims: a worker takes a batch of due deliveries of one channel for itself, and the sweeper
takes back the claims of workers that stopped mid-batch.

A claim moves deliveries from pending to sending under a fresh token with a conditional update
(still pending?), so no two workers ever hold the same delivery. A worker killed mid-batch
leaves its claim in `sending`; once the claim has timed out, what the claim's send journal shows
as accepted is recorded as sent and only the rest is handed back, so nothing accepted is sent
again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications import journal
from notifications.models import Delivery, DeliveryStatus
from notifications.outcomes import discard_journal, mark_sent

logger = logging.getLogger(__name__)


@dataclass
class Claim:
    """The deliveries one worker took for itself, under one token."""

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
            result.recovered += mark_sent(expired, accepted)
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
        discard_journal(store, token)
    store.prune()
    return result
