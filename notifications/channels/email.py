"""The email channel: an event's email, rendered once per batch and addressed to each
subscriber, sent over one SMTP connection for the batch."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from incidents.models import EventKind, OutboxEvent
from notifications.channels.base import BatchEvents, Channel, NothingToSend, Unrenderable
from notifications.emails import EventEmail, WireEmail, event_email
from notifications.models import Delivery, SubscriberKind
from notifications.transports import EmailTransport, TransportError


class EmailChannel(Channel):
    kind = SubscriberKind.EMAIL
    coalesces = True

    @classmethod
    def batch_size(cls) -> int:
        return settings.NOTIFY_EMAIL_BATCH_SIZE

    @classmethod
    def tells(cls, event_kind: str) -> bool:
        # A component's own status change reaches email subscribers through the incident that
        # explains it, not as a message of its own.
        return event_kind != EventKind.COMPONENT_STATUS_CHANGED

    def __init__(self, batch: BatchEvents) -> None:
        super().__init__(batch)
        self.transport = EmailTransport()
        self._emails: dict[tuple[int, tuple[int, ...]], EventEmail] = {}

    def event_email(
        self, event: OutboxEvent, earlier: Sequence[OutboxEvent] = ()
    ) -> EventEmail | None:
        """The event's email (telling the `earlier` events' updates too), rendered once for the
        batch; None when the event tells email subscribers nothing (any more)."""
        if not self.tells(event.kind):
            return None
        incident = self.batch.public_incident(event)
        if incident is None:
            return None
        earlier_updates = tuple(sorted({e.update_id for e in earlier if e.update_id}))
        key = (event.pk, earlier_updates)
        if key not in self._emails:
            self._emails[key] = event_email(
                kind=event.kind,
                incident=incident,
                update_id=event.update_id,
                earlier_update_ids=earlier_updates,
            )
        return self._emails[key]

    def send(self, delivery: Delivery) -> None:
        self.send_coalesced(delivery, ())

    def send_coalesced(self, delivery: Delivery, earlier: Sequence[Delivery]) -> None:
        event = self.batch.event(delivery)
        subscriber = delivery.subscriber
        try:
            content = self.event_email(event, [self.batch.event(d) for d in earlier])
            if content is None:
                raise NothingToSend
            # An SMTP server takes the message serialized once for the batch, with this
            # subscriber's parts swapped in; other backends (and addresses that need encoding)
            # get a message of their own.
            wire = (
                content.wire
                if self.transport.speaks_smtp and WireEmail.fits(subscriber.email)
                else None
            )
            if wire is not None:
                data = wire.for_subscriber(subscriber, delivery_id=delivery.pk)
            else:
                message = content.for_subscriber(subscriber, delivery_id=delivery.pk)
                # Serialized here, so a header that cannot be sent fails this event only.
                message.message()
        except NothingToSend:
            raise
        except Exception as error:  # noqa: BLE001 - whatever breaks the building is this event's
            raise Unrenderable(f"{type(error).__name__}: {error}") from error
        if wire is not None:
            self.transport.send_bytes(sender=wire.sender, recipient=subscriber.email, data=data)
        else:
            self.transport.send(message)

    def permanent(self, error: TransportError) -> bool:
        # Mail servers refuse for reasons that pass (a full mailbox, greylisting, a rate
        # limit) with codes that cannot be trusted to tell which: every refusal is retried
        # until the attempts run out.
        return False

    def close(self) -> None:
        self.transport.close()
