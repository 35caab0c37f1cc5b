"""The chat channel: an event told in a Slack, Microsoft Teams, Discord, Mattermost or Google
Chat channel, POSTed to the channel's incoming webhook in that service's format
(chat_formats.py) over the batch's HTTP clients.

Our own channel rather than a notification library (apprise, for one): the message must leave
through notifications.transports, whose timeouts bound a batch and whose public-only client
refuses private addresses at connection time for channels added on the public page, and the
answer's status must reach `permanent` so that a deleted webhook (404, 410) stops at once while
a rate limit (429) is retried. The send loop journals each accepted message, so the channel is
exactly-once like the others; a library that owns the HTTP request and answers True or False
could give none of that, and each service's format is a small function here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from django.conf import settings

from incidents.models import EventKind, Incident, OutboxEvent
from notifications import tokens
from notifications.channels.base import BatchEvents, Channel, NothingToSend, Unrenderable
from notifications.channels.chat_formats import ChatLine, ChatMessage, chat_payload, moment_text
from notifications.emails import (
    COMPONENT_COLOURS,
    branding,
    event_status_label,
    event_update,
    status_colour,
)
from notifications.models import Delivery, SubscriberKind
from notifications.transports import TransportError, WebhookTransport

# Answers that say "not now" rather than "no" (as for webhooks); 5xx and no answer are retried.
_RETRYABLE = frozenset({408, 425, 429})
_MUTED = "#58616c"


def event_chat_message(*, kind: str, incident: Incident, update_id: int | None) -> ChatMessage:
    """The chat message telling one event of `incident` (loaded with the serialization
    prefetches, so only public components are shown)."""
    update = event_update(incident, update_id)
    is_postmortem = kind == EventKind.POSTMORTEM_PUBLISHED
    status = "postmortem" if is_postmortem else (update.status if update else incident.status)
    if is_postmortem and incident.postmortem_published_at:
        moment = incident.postmortem_published_at
    elif update is not None:
        moment = update.display_at
    else:
        moment = incident.created_at
    when = moment_text(moment)
    if incident.is_maintenance and incident.scheduled_for and incident.scheduled_until:
        window = f"{moment_text(incident.scheduled_for)} to {moment_text(incident.scheduled_until)}"
        when += f" · window {window}"
    # What this update changed, as the email tells it: a postmortem changes nothing, and a
    # component left as it was is no change. Statuses as of the update, whenever it is sent.
    changes = (
        []
        if is_postmortem or update is None
        else [
            change
            for change in getattr(update, "public_component_changes", [])
            if change.old_status != change.new_status
        ]
    )
    return ChatMessage(
        page_name=branding().name,
        title=incident.name,
        status=event_status_label(kind, incident, update),
        colour=status_colour(kind=kind, incident=incident, status=status),
        when=when,
        timestamp=moment.isoformat(),
        text=incident.postmortem_body if is_postmortem else (update.body if update else ""),
        url=settings.SITE_URL + incident.get_absolute_url(),
        link_label=(
            "Read the postmortem"
            if is_postmortem
            else "View the maintenance"
            if incident.is_maintenance
            else "View the incident"
        ),
        components=[
            ChatLine(
                name=change.component.name,
                status=change.get_new_status_display(),
                colour=COMPONENT_COLOURS.get(change.new_status, _MUTED),
                was=change.get_old_status_display(),
            )
            for change in changes
        ],
    )


class ChatChannel(Channel):
    kind = SubscriberKind.CHAT

    @classmethod
    def batch_size(cls) -> int:
        # One POST per message, like webhooks, over the same kind of client.
        return settings.NOTIFY_WEBHOOK_BATCH_SIZE

    @classmethod
    def tells(cls, event_kind: str) -> bool:
        # As for email: a component's own status change is told through its incident.
        return event_kind != EventKind.COMPONENT_STATUS_CHANGED

    def __init__(self, batch: BatchEvents) -> None:
        super().__init__(batch)
        self.transport = WebhookTransport()
        self._messages: dict[int, ChatMessage] = {}

    def message(self, event: OutboxEvent) -> ChatMessage | None:
        """The event's message, built once for the batch; None when nothing public is left."""
        incident = self.batch.public_incident(event)
        if incident is None or not self.tells(event.kind):
            return None
        if event.pk not in self._messages:
            self._messages[event.pk] = event_chat_message(
                kind=event.kind, incident=incident, update_id=event.update_id
            )
        return self._messages[event.pk]

    def send(self, delivery: Delivery, *, earlier: Sequence[Delivery] = ()) -> None:
        subscriber = delivery.subscriber
        try:
            message = self.message(self.batch.event(delivery))
            if message is None:
                raise NothingToSend
            addressed = replace(message, unsubscribe_url=tokens.unsubscribe_url(subscriber))
            payload = chat_payload(subscriber.chat_service, addressed)
            body = json.dumps(payload, separators=(",", ":")).encode()
        except NothingToSend:
            raise
        except Exception as error:  # noqa: BLE001 - whatever breaks the building is this event's
            raise Unrenderable(f"{type(error).__name__}: {error}") from error
        self.transport.post(
            url=subscriber.url, body=body, headers={}, public_only=subscriber.self_registered
        )

    def permanent(self, error: TransportError) -> bool:
        """A refusal (a deleted webhook answers 404 or 410, a revoked one 403) will come again;
        a rate limit, a server error or no answer may pass."""
        if error.code is None:
            return False
        return error.code not in _RETRYABLE and error.code < 500

    def close(self) -> None:
        self.transport.close()
