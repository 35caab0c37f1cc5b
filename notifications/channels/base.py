"""What a notification channel is: for one kind of subscriber, how a delivery becomes a message,
how it is sent, and which failures are for good.

The sending loop (notifications/sending.py) knows channels only through this class: it opens
one for a claimed batch, calls `send` for each delivery and asks `permanent` about each refusal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import ClassVar, Self

from incidents.models import Incident, OutboxEvent
from notifications.models import Delivery
from notifications.transports import TransportError
from website.serializers import with_serialization_prefetches


class NothingToSend(Exception):
    """The event has nothing public left to tell this subscriber."""


class Unrenderable(Exception):
    """The event's message cannot be built (stored text a header refuses, a template that
    fails): that event's deliveries fail, and the rest of the batch is sent."""


class BatchEvents:
    """The events a batch of deliveries announces and their public incidents, loaded once for
    the whole batch whatever its channel."""

    def __init__(self, deliveries: Iterable[Delivery]) -> None:
        event_ids = {d.event_id for d in deliveries}
        self.events: dict[int, OutboxEvent] = {
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

    def event(self, delivery: Delivery) -> OutboxEvent:
        return self.events[delivery.event_id]

    def public_incident(self, event: OutboxEvent) -> Incident | None:
        """The event's incident while it is public (fetched with the serialization
        prefetches); None once it is not, or for an event about no incident."""
        return self.incidents.get(event.incident_id) if event.incident_id else None


class Channel:
    """One kind of subscriber's channel, opened for one batch: it holds the batch's connection
    (closed on leaving the `with` block) and whatever the batch's messages share.

    A subclass sets `kind` (its SubscriberKind) and is listed in notifications.channels.CHANNELS.
    """

    kind: ClassVar[str]
    # True when a subscriber gets one message per incident per NOTIFY_MIN_INTERVAL_SECONDS:
    # incident events arriving inside the interval are held and told together (see
    # notifications/coalescing.py) through `send_coalesced`.
    coalesces: ClassVar[bool] = False

    @classmethod
    def batch_size(cls) -> int:
        """How many deliveries a worker claims and sends at once."""
        raise NotImplementedError

    @classmethod
    def tells(cls, event_kind: str) -> bool:
        """Whether subscribers of this kind hear of events of `event_kind`."""
        return True

    def __init__(self, batch: BatchEvents) -> None:
        self.batch = batch

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, delivery: Delivery) -> None:
        """Send the delivery's message; return once the other side has accepted it.

        Raises NothingToSend when the event has nothing public left for the subscriber, and
        TransportError when the other side did not take the message.
        """
        raise NotImplementedError

    def send_coalesced(self, delivery: Delivery, earlier: Sequence[Delivery]) -> None:
        """A channel that `coalesces`: send the delivery's message telling the `earlier`
        deliveries (same subscriber and incident, older) too; raises as `send` does."""
        raise NotImplementedError

    def permanent(self, error: TransportError) -> bool:
        """True when trying the delivery again cannot help (it fails at once, and counts
        towards disabling the subscriber); False to retry it with backoff."""
        return False

    def close(self) -> None:
        """Close the batch's connection."""
