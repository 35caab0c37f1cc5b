"""The webhook channel: the Statuspage payload of an event, signed with the subscriber's secret
and POSTed to its URL over the batch's HTTP clients."""

from __future__ import annotations

import json

from django.conf import settings

from incidents.models import EventKind, OutboxEvent
from notifications import payloads, tokens
from notifications.channels.base import BatchEvents, Channel, NothingToSend, Unrenderable
from notifications.models import Delivery, Subscriber, SubscriberKind
from notifications.transports import TransportError, WebhookTransport, webhook_signature
from statuspage.models import Component
from statuspage.rollup import PageStatus
from website.serializers import current_page_status

# Answers that say "not now" rather than "no": the request timed out, came too early, came too
# often. With 5xx answers, timeouts and connection errors they are retried.
_RETRYABLE = frozenset({408, 425, 429})


class WebhookChannel(Channel):
    kind = SubscriberKind.WEBHOOK

    @classmethod
    def batch_size(cls) -> int:
        return settings.NOTIFY_WEBHOOK_BATCH_SIZE

    def __init__(self, batch: BatchEvents) -> None:
        super().__init__(batch)
        self.transport = WebhookTransport()
        self._status: PageStatus | None = None
        self._components: dict[int, Component] | None = None

    def page_status(self) -> PageStatus:
        if self._status is None:
            self._status = current_page_status()
        return self._status

    def public_component(self, component_id: int) -> Component | None:
        if self._components is None:
            ids = {
                e.status_change.component_id for e in self.batch.events.values() if e.status_change
            }
            self._components = {
                c.pk: c
                for c in Component.objects.public().select_related("group").filter(pk__in=ids)
            }
        return self._components.get(component_id)

    def payload(self, event: OutboxEvent, subscriber: Subscriber) -> payloads.Json | None:
        """The event's payload for `subscriber`; None when nothing public is left to tell."""
        unsubscribe = tokens.unsubscribe_url(subscriber)
        if event.kind == EventKind.COMPONENT_STATUS_CHANGED:
            change = event.status_change
            component = self.public_component(change.component_id) if change else None
            if change is None or component is None:
                return None
            return payloads.component_payload(
                change=change,
                component=component,
                status=self.page_status(),
                unsubscribe_url=unsubscribe,
            )
        incident = self.batch.public_incident(event)
        if incident is None:
            return None
        return payloads.incident_payload(
            incident=incident, status=self.page_status(), unsubscribe_url=unsubscribe
        )

    def send(self, delivery: Delivery) -> None:
        subscriber = delivery.subscriber
        event = self.batch.event(delivery)
        try:
            payload = self.payload(event, subscriber)
            if payload is None:
                raise NothingToSend
            body = json.dumps(payload, separators=(",", ":")).encode()
        except NothingToSend:
            raise
        except Exception as error:  # noqa: BLE001 - whatever breaks the building is this event's
            raise Unrenderable(f"{type(error).__name__}: {error}") from error
        headers = {
            "X-Statuspage-Signature": webhook_signature(subscriber.secret, body),
            "X-Statuspage-Event": event.kind,
            "X-Statuspage-Delivery": str(delivery.pk),
        }
        self.transport.post(
            url=subscriber.url, body=body, headers=headers, public_only=subscriber.self_registered
        )

    def permanent(self, error: TransportError) -> bool:
        """An endpoint that answered with a refusal (4xx, or a redirect, which is not
        followed) will refuse again; no answer, or a server error, may pass."""
        if error.code is None:
            return False
        return error.code not in _RETRYABLE and error.code < 500

    def close(self) -> None:
        self.transport.close()
