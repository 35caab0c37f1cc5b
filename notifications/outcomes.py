"""Recording what happened to a batch of deliveries: sent, to be retried, failed or cancelled,
and the subscribers' runs of failures that end up disabling them.

The outcomes of a batch are kept in memory and reach the database in one transaction when the
batch is over, in the same few queries whatever its size. Each accepted message also goes to
the claim's send journal (notifications/journal.py) at once, so the sweeper can tell what was
accepted if the worker dies before writing the batch.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, IntegerField, QuerySet, TextField

from notifications import journal
from notifications.models import Delivery, DeliveryStatus, Subscriber
from statuspage.bulk import PerRow, in_chunks

logger = logging.getLogger(__name__)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: the base delay after the first attempt, doubling, up to the max."""
    seconds = settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


def discard_journal(store: journal.Journal, token: str) -> None:
    try:
        store.discard(token)
    except journal.JournalError:
        logger.warning("Cannot discard the journal of claim %s; it expires", token)


def mark_sent(claimed: QuerySet[Delivery], accepted: dict[int, dt.datetime]) -> int:
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


class BatchOutcomes:
    """The outcome of each delivery of one claim (`token`), kept in memory and written in one go.

    Accepted deliveries also go to the journal at once, before the next message is sent; if the
    journal cannot be written they are recorded in the database at once instead.
    """

    def __init__(self, token: str, writer: journal.JournalWriter | None) -> None:
        self.token = token
        self.writer = writer
        self.sent: dict[int, dt.datetime] = {}
        self.retry: dict[int, tuple[str, dt.datetime, dt.datetime]] = {}
        self.failed: dict[int, tuple[str, dt.datetime]] = {}
        self.cancelled: dict[str, list[int]] = {}
        self.streaks: dict[int, _Streak] = {}
        self.recorded_now = 0

    def accepted(
        self, delivery: Delivery, now: dt.datetime, *, told_too: Sequence[Delivery] = ()
    ) -> None:
        """The other side took the delivery's message, which told the `told_too` deliveries
        as well (a coalesced message): all of them are journaled as sent at once."""
        ids = [delivery.pk, *(d.pk for d in told_too)]
        if self.writer is not None:
            try:
                for pk in ids:
                    self.writer.append(pk, now)
            except journal.JournalError:
                logger.warning("The send journal failed; recording each message directly")
                self.writer = None
        if self.writer is None:
            self.recorded_now += mark_sent(self._still_claimed(), dict.fromkeys(ids, now))
        else:
            self.sent.update(dict.fromkeys(ids, now))
        streak = self._streak(delivery)
        streak.reset, streak.added = True, 0

    def follow(self, delivery: Delivery, carrier: Delivery) -> None:
        """`delivery` was to be told in `carrier`'s message, which was not accepted: it shares
        the carrier's outcome (retried with it, failed or cancelled), without counting against
        the subscriber a second time."""
        if carrier.pk in self.retry:
            self.retry[delivery.pk] = self.retry[carrier.pk]
        elif carrier.pk in self.failed:
            self.failed[delivery.pk] = self.failed[carrier.pk]
        else:
            for ids in self.cancelled.values():
                if carrier.pk in ids:
                    ids.append(delivery.pk)
                    break

    def _still_claimed(self) -> QuerySet[Delivery]:
        """The claim's deliveries the sweeper has not taken back."""
        return Delivery.objects.filter(claim_token=self.token, status=DeliveryStatus.SENDING)

    def _streak(self, delivery: Delivery) -> _Streak:
        subscriber = delivery.subscriber
        if subscriber.pk not in self.streaks:
            self.streaks[subscriber.pk] = _Streak(before=subscriber.consecutive_failures)
        return self.streaks[subscriber.pk]

    def refused(self, delivery: Delivery, error: str, *, permanent: bool, now: dt.datetime) -> bool:
        """Note a failed attempt (`permanent`: trying again cannot help); True when it
        disables the subscriber (so the rest of the batch skips it)."""
        message = error[:2000]
        attempts = delivery.attempts + 1
        if not permanent and attempts < settings.NOTIFY_MAX_ATTEMPTS:
            self.retry[delivery.pk] = (message, now, now + retry_delay(attempts))
            return False
        self.failed[delivery.pk] = (message, now)
        streak = self._streak(delivery)
        streak.added += 1
        streak.last_error = message
        run = streak.added + (0 if streak.reset else streak.before)
        return run >= settings.NOTIFY_DISABLE_AFTER_FAILURES

    def unsendable(self, delivery: Delivery, error: str, *, now: dt.datetime) -> None:
        """The message itself could not be built: the delivery fails at once (staff can resend
        it once the text is fixed), and it counts against no subscriber."""
        self.failed[delivery.pk] = (error[:2000], now)

    def cancel(self, delivery: Delivery, reason: str) -> None:
        self.cancelled.setdefault(reason, []).append(delivery.pk)

    def save(self, now: dt.datetime) -> int:
        """Write every outcome, in one transaction; returns how many rows were still ours."""
        claimed = self._still_claimed()
        released = {"claim_token": "", "claimed_at": None}
        with transaction.atomic():
            done = mark_sent(claimed, self.sent)
            for retried in in_chunks(self.retry):
                done += claimed.filter(pk__in=retried).update(
                    status=DeliveryStatus.PENDING,
                    attempts=F("attempts") + 1,
                    last_error=PerRow(
                        Delivery, {pk: e for pk, (e, _, _) in retried.items()}, TextField()
                    ),
                    last_attempt_at=PerRow(
                        Delivery, {pk: at for pk, (_, at, _) in retried.items()}, DateTimeField()
                    ),
                    next_attempt_at=PerRow(
                        Delivery, {pk: at for pk, (_, _, at) in retried.items()}, DateTimeField()
                    ),
                    **released,
                )
            for failed in in_chunks(self.failed):
                done += claimed.filter(pk__in=failed).update(
                    status=DeliveryStatus.FAILED,
                    attempts=F("attempts") + 1,
                    last_error=PerRow(
                        Delivery, {pk: e for pk, (e, _) in failed.items()}, TextField()
                    ),
                    last_attempt_at=PerRow(
                        Delivery, {pk: at for pk, (_, at) in failed.items()}, DateTimeField()
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
