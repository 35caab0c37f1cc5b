"""The emails: an event's notification (plain text and HTML from the same markdown) and the
notices about a subscription itself (confirm it, you are already subscribed).

An event's email is rendered once per batch, and for SMTP serialized once too; only the
recipient's address, own manage and unsubscribe links and message id differ between
subscribers, and they are put in by plain substitution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formataddr, make_msgid, parseaddr
from functools import cached_property
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse

from incidents.models import EventKind, Incident, IncidentUpdate, MaintenanceStatus
from notifications import tokens
from notifications.models import Notice, Subscriber
from statuspage.markdown import render_markdown
from statuspage.models import Component

# Stand-ins for what differs between recipients, in the shared rendering. They are URL-safe, so
# HTML escaping leaves them alone, and plain ASCII, so serializing the message keeps them whole.
_MANAGE = "__notifications_manage_url__"
_UNSUBSCRIBE = "__notifications_unsubscribe_url__"
_RECIPIENT = "__notifications_recipient__@example.invalid"
_DELIVERY = "__notifications_delivery__"

_MAINTENANCE_LABELS: dict[str, str] = {
    MaintenanceStatus.SCHEDULED: "Scheduled maintenance",
    MaintenanceStatus.IN_PROGRESS: "Maintenance in progress",
    MaintenanceStatus.VERIFYING: "Maintenance verifying",
    MaintenanceStatus.COMPLETED: "Maintenance completed",
}


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def sender() -> str:
    """DEFAULT_FROM_EMAIL, with the page's name as display name unless it has one."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((name or settings.STATUSPAGE_NAME, address))


def _message_id(delivery_id: int | str) -> str:
    # The same id on every attempt, so a receiving system can drop a repeat.
    return f"<delivery-{delivery_id}@{site_host()}>"


@dataclass(frozen=True)
class EventEmail:
    """One event's email, rendered once, ready to be addressed to each subscriber."""

    subject: str
    text: str
    html: str

    def message(
        self, *, to: str, manage_url: str, unsubscribe_url: str, message_id: str
    ) -> EmailMultiAlternatives:
        text = self.text.replace(_MANAGE, manage_url).replace(_UNSUBSCRIBE, unsubscribe_url)
        html = self.html.replace(_MANAGE, manage_url).replace(_UNSUBSCRIBE, unsubscribe_url)
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=text,
            from_email=sender(),
            to=[to],
            headers={
                # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs.
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "List-Id": f"{settings.STATUSPAGE_NAME} <notifications.{site_host()}>",
                "Auto-Submitted": "auto-generated",
                "Message-ID": message_id,
            },
        )
        message.attach_alternative(html, "text/html")
        return message

    def for_subscriber(self, subscriber: Subscriber, *, delivery_id: int) -> EmailMultiAlternatives:
        return self.message(
            to=subscriber.email,
            manage_url=tokens.manage_url(subscriber),
            unsubscribe_url=tokens.unsubscribe_url(subscriber),
            message_id=_message_id(delivery_id),
        )

    @cached_property
    def wire(self) -> WireEmail | None:
        """The message serialized once for SMTP, or None when its bodies had to be encoded
        (Django uses quoted-printable for lines over 998 bytes) and the stand-ins cannot be
        swapped safely."""
        message = self.message(
            to=_RECIPIENT,
            manage_url=_MANAGE,
            unsubscribe_url=_UNSUBSCRIBE,
            message_id=_message_id(_DELIVERY),
        )
        data = message.message().as_bytes(linesep="\r\n")
        if b"Content-Transfer-Encoding: quoted-printable" in data:
            return None  # its lines are cut at 76 characters; longer links would break that
        if not all(s.encode() in data for s in (_RECIPIENT, _MANAGE, _UNSUBSCRIBE, _DELIVERY)):
            return None
        envelope_sender = sanitize_address(message.from_email, settings.DEFAULT_CHARSET)
        return WireEmail(sender=envelope_sender, data=data)


@dataclass(frozen=True)
class WireEmail:
    """An event's email as the bytes an SMTP server receives, with the recipient's address,
    links and message id substituted per subscriber: what Django's SMTP backend would send,
    without building and serializing a MIME tree for every one of thousands of recipients."""

    sender: str
    data: bytes

    @staticmethod
    def fits(address: str) -> bool:
        """Plain ASCII addresses go in as they are; others need Django's encoding."""
        return address.isascii()

    def for_subscriber(self, subscriber: Subscriber, *, delivery_id: int) -> bytes:
        return (
            self.data.replace(_RECIPIENT.encode(), subscriber.email.encode())
            .replace(_MANAGE.encode(), tokens.manage_url(subscriber).encode())
            .replace(_UNSUBSCRIBE.encode(), tokens.unsubscribe_url(subscriber).encode())
            .replace(_DELIVERY.encode(), str(delivery_id).encode())
        )


def _tidy(text: str) -> str:
    """Template tags leave blank lines behind; keep at most one in a row."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _update_of(event_update_id: int | None, incident: Incident) -> IncidentUpdate | None:
    updates = list(incident.updates.all())
    if event_update_id is not None:
        for update in updates:
            if update.pk == event_update_id:
                return update
    return updates[0] if updates else None


def _subject_label(kind: str, incident: Incident, update: IncidentUpdate | None) -> str:
    if kind == EventKind.POSTMORTEM_PUBLISHED:
        return "Postmortem"
    if kind == EventKind.MAINTENANCE_REMINDER:
        return "Maintenance reminder"
    if kind == EventKind.MAINTENANCE_SCHEDULED:
        return "Scheduled maintenance"
    status = update.status if update is not None else incident.status
    if incident.is_maintenance:
        return _MAINTENANCE_LABELS.get(status, "Scheduled maintenance")
    return update.status_label if update is not None else incident.status_label


def event_email(
    *,
    kind: str,
    incident: Incident,
    update_id: int | None,
    update: IncidentUpdate | None = None,
) -> EventEmail:
    """Render the email announcing one event of `incident`.

    `incident` must come through serializers.with_serialization_prefetches: only its public
    components (and the public components of its updates' changes) are ever shown. An unsaved
    `update` (with its `public_component_changes`) renders the email of an update not posted yet.
    """
    if update is None:
        update = _update_of(update_id, incident)
    components: list[Component] = incident.public_components  # type: ignore[attr-defined]  # the prefetch's to_attr
    label = _subject_label(kind, incident, update)
    is_postmortem = kind == EventKind.POSTMORTEM_PUBLISHED
    # What this update changed: a postmortem changes nothing (its update's changes were told
    # when it was posted), and a component that stays as it was is no change.
    changes = (
        []
        if is_postmortem or update is None
        else [
            change
            for change in getattr(update, "public_component_changes", [])
            if change.old_status != change.new_status
        ]
    )
    message_markdown = (
        incident.postmortem_body if is_postmortem else (update.body if update else "")
    )
    context = {
        "kind": kind,
        "label": label,
        "page_name": settings.STATUSPAGE_NAME,
        "incident": incident,
        "update": update,
        "is_postmortem": is_postmortem,
        "is_reminder": kind == EventKind.MAINTENANCE_REMINDER,
        "message_markdown": message_markdown,
        "message_html": render_markdown(message_markdown),
        "components": components,
        "changes": changes,
        "incident_url": settings.SITE_URL + incident.get_absolute_url(),
        "page_url": settings.SITE_URL + "/",
        "manage_url": _MANAGE,
        "unsubscribe_url": _UNSUBSCRIBE,
    }
    return EventEmail(
        subject=f"[{label}] {incident.name}",
        text=_tidy(render_to_string("notifications/email/event.txt", context)),
        html=render_to_string("notifications/email/event.html", context),
    )


def notice_email(subscriber: Subscriber, notice: str) -> EmailMultiAlternatives:
    """The email about a subscription itself: confirm it, or you are subscribed already."""
    components = list(Component.objects.public().filter(pk__in=subscriber.components.all()))
    context = {
        "page_name": settings.STATUSPAGE_NAME,
        "page_url": settings.SITE_URL + "/",
        "subscriber": subscriber,
        "components": components,
        "confirm_url": tokens.confirm_url(subscriber),
        "confirm_hours": settings.NOTIFY_CONFIRM_MAX_AGE_HOURS,
        "manage_url": tokens.manage_url(subscriber),
        "subscribe_url": settings.SITE_URL + reverse("notifications:subscribe"),
    }
    if notice == Notice.CONFIRM:
        subject = f"Confirm your subscription to {settings.STATUSPAGE_NAME}"
        template = "notifications/email/confirm"
    else:
        subject = f"You are already subscribed to {settings.STATUSPAGE_NAME}"
        template = "notifications/email/already_subscribed"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=sender(),
        to=[subscriber.email],
        headers={"Auto-Submitted": "auto-generated", "Message-ID": make_msgid(domain=site_host())},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message
