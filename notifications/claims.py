"""Claims: a worker takes a batch of due deliveries of one channel for itself under a lease it
renews while the batch runs, and the sweeper takes back the claims whose lease ran out.

A claim moves deliveries from pending to sending under a fresh token with a conditional update
(still pending?), so no two workers ever hold the same delivery. While the batch is being sent a
thread of the worker renews the lease (`claimed_at`) every third of `NOTIFY_CLAIM_LEASE_SECONDS`,
however long one message takes. A worker killed mid-batch stops renewing: once the lease has run
out, what the claim's send journal shows as accepted is recorded as sent and only the rest is
handed back, so nothing accepted is sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass, field
from types import TracebackType

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import F
from django.utils import timezone

from notifications import coalescing, journal
from notifications.models import Delivery, DeliveryStatus
from notifications.outcomes import discard_journal, mark_sent

logger = logging.getLogger(__name__)


@dataclass
class Claim:
    """The deliveries one worker took for itself, under one token."""

    token: str
    deliveries: list[Delivery] = field(default_factory=list)


class ClaimLease:
    """Renews a claim's lease from a thread of its own while the batch is sent (`with
    ClaimLease(claim.token) as lease:`); `lease.lost` turns true once the claim is gone (its
    lease ran out and the sweeper took it back), and the batch should stop.

    A thread rather than a renewal between messages: one slow message (a mail server that
    answers each command just inside its timeout) must not cost a live worker its claim.
    """

    def __init__(self, token: str, *, seconds: float | None = None) -> None:
        self.token = token
        self.seconds = float(seconds or settings.NOTIFY_CLAIM_LEASE_SECONDS)
        self.lost = False
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._renew_until_stopped, name=f"claim-lease-{token[:8]}", daemon=True
        )

    def __enter__(self) -> ClaimLease:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def renew(self) -> bool:
        """Push the lease back to a full term; False when the claim is no longer ours."""
        held = Delivery.objects.filter(
            claim_token=self.token, status=DeliveryStatus.SENDING
        ).update(claimed_at=timezone.now())
        self.renewals += 1
        return bool(held)

    def _renew_until_stopped(self) -> None:
        touched = False
        try:
            while not self._stop.wait(self.seconds / 3):
                touched = True
                try:
                    if not self.renew():
                        self.lost = True
                        return
                except DatabaseError:
                    # Two more tries before the lease runs out: a busy database is no reason
                    # to give the batch up.
                    logger.warning("Could not renew the lease of claim %s", self.token)
        finally:
            if touched:
                connections.close_all()  # this thread's own connections


def deliveries_claim(
    *, channel: str, limit: int, now: dt.datetime | None = None, coalesce: bool = False
) -> Claim:
    """Claim up to `limit` due deliveries of one channel, oldest first; with `coalesce`, also
    the pending deliveries of the same subscribers and incidents, to be told in the same
    messages (notifications/coalescing.py).

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
    claimed = Delivery.objects.filter(claim_token=claim.token, status=DeliveryStatus.SENDING)
    claim.deliveries = list(claimed.select_related("subscriber", "event").order_by("id"))
    if coalesce and (extra := coalescing.companions(claim.deliveries, channel=channel)):
        Delivery.objects.filter(pk__in=extra, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING, claim_token=claim.token, claimed_at=now
        )
        claim.deliveries = list(claimed.select_related("subscriber", "event").order_by("id"))
    return claim


@dataclass
class Released:
    """What taking back stopped workers' claims did: deliveries their journals showed as
    accepted (now recorded as sent), and deliveries handed back to be sent again."""

    recovered: int = 0
    released: int = 0


def deliveries_release_expired(*, now: dt.datetime | None = None, limit: int = 500) -> Released:
    """Take back the claims whose lease ran out: their workers stopped mid-batch.

    What the worker's journal shows as accepted is recorded as sent; the rest goes back to
    pending, counted as an attempt (so a message that kills its worker every time ends up
    failed, not retried forever). A claim whose journal cannot be read is left for the next
    sweep: sending its messages again could send some twice.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.NOTIFY_CLAIM_LEASE_SECONDS)
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
