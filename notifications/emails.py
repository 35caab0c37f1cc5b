"""The emails: an event's notification (plain text and HTML from the same markdown) and the
notices about a subscription itself (confirm it, you are already subscribed).

An event's email is rendered once per batch, and for SMTP serialized once too; only the
recipient's address, own manage and unsubscribe links and message id differ between
subscribers, and they are put in by plain substitution.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection
from dataclasses import dataclass
from email.utils import formataddr, make_msgid, parseaddr
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from incidents.models import (
    EventKind,
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceStatus,
)
from notifications import tokens
from notifications.models import Notice, Subscriber
from statuspage.branding import current_page
from statuspage.markdown import render_markdown
from statuspage.models import Component, ComponentStatus

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


@dataclass(frozen=True)
class Branding:
    """What the emails show of the page: its name, and its logo when it has one."""

    name: str
    logo_url: str | None


def branding() -> Branding:
    """The page's name and email logo as staff set them (statuspage.branding)."""
    page = current_page()
    return Branding(name=page.name, logo_url=page.absolute(page.email_logo) or None)


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def sender() -> str:
    """The page's sender address, with the page's name as display name unless it has one."""
    page = current_page()
    name, address = parseaddr(page.from_email)
    return formataddr((name or page.name, address))


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
                "List-Id": f"{branding().name} <notifications.{site_host()}>",
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
    return _status_label(incident, update)


def _status_label(incident: Incident, update: IncidentUpdate | None) -> str:
    """The one status an event's email shows: the update's (a maintenance's in words that say
    it is maintenance)."""
    status = update.status if update is not None else incident.status
    if incident.is_maintenance:
        return _MAINTENANCE_LABELS.get(status, "Scheduled maintenance")
    return update.status_label if update is not None else incident.status_label


# The page's colours (static/css/statuspage.css, light scheme), for text on white.
_OK = "#17804a"
_DEGRADED = "#8c6200"
_PARTIAL = "#b54a09"
_MAJOR = "#c42530"
_MAINTENANCE = "#1f66c9"
_MUTED = "#58616c"

_IMPACT_COLOURS: dict[str, str] = {
    Impact.NONE: _MUTED,
    Impact.MINOR: _DEGRADED,
    Impact.MAJOR: _PARTIAL,
    Impact.CRITICAL: _MAJOR,
    Impact.MAINTENANCE: _MAINTENANCE,
}

COMPONENT_COLOURS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: _OK,
    ComponentStatus.DEGRADED_PERFORMANCE: _DEGRADED,
    ComponentStatus.PARTIAL_OUTAGE: _PARTIAL,
    ComponentStatus.MAJOR_OUTAGE: _MAJOR,
    ComponentStatus.UNDER_MAINTENANCE: _MAINTENANCE,
}


def status_colour(*, kind: str, incident: Incident, status: str) -> str:
    """The colour of the status an email (or a chat message) shows, as the page colours it: an
    incident still being worked on in its impact's colour, one being watched in blue, one that
    is over in green; maintenance in the maintenance blue until it is completed."""
    if kind == EventKind.POSTMORTEM_PUBLISHED or status in (
        IncidentStatus.RESOLVED,
        IncidentStatus.POSTMORTEM,
        MaintenanceStatus.COMPLETED,
    ):
        return _OK
    if incident.is_maintenance:
        return _MAINTENANCE
    if status == IncidentStatus.MONITORING:
        return _MAINTENANCE
    return _IMPACT_COLOURS.get(incident.impact, _MAJOR)


# Staff-written Markdown rendered for mail clients, which ignore style sheets: each element
# carries its style, and headings stay smaller than the incident's title (22px).
_ELEMENT_STYLES: dict[str, str] = {
    "h1": "margin:20px 0 8px;font-size:18px;line-height:1.3;",
    "h2": "margin:20px 0 8px;font-size:17px;line-height:1.3;",
    "h3": "margin:16px 0 6px;font-size:16px;line-height:1.3;",
    "h4": "margin:16px 0 6px;font-size:15px;line-height:1.3;",
    "h5": "margin:16px 0 6px;font-size:15px;line-height:1.3;",
    "h6": "margin:16px 0 6px;font-size:15px;line-height:1.3;",
    "p": "margin:0 0 12px;",
    "ul": "margin:0 0 12px;padding-left:22px;",
    "ol": "margin:0 0 12px;padding-left:22px;",
    "blockquote": "margin:0 0 12px;padding:0 0 0 12px;border-left:3px solid #d9dde3;color:#58616c;",
    "pre": "margin:0 0 12px;padding:10px;background:#f5f6f8;border-radius:6px;"
    "font-size:13px;white-space:pre-wrap;word-break:break-word;",
    "code": "font-family:Menlo,Consolas,monospace;font-size:13px;",
    "table": "margin:0 0 12px;border-collapse:collapse;",
    "th": "padding:4px 8px;border:1px solid #d9dde3;text-align:left;",
    "td": "padding:4px 8px;border:1px solid #d9dde3;",
    "a": "color:#1d5fc4;",
    "img": "max-width:100%;height:auto;",
}
_OPENING_TAG = re.compile(r"<(" + "|".join(_ELEMENT_STYLES) + r")(?=[\s>/])")


def email_html(html: SafeString) -> SafeString:
    """Sanitized HTML (statuspage.markdown) with inline styles for mail clients."""
    styled = _OPENING_TAG.sub(
        lambda match: f'<{match[1]} style="{_ELEMENT_STYLES[match[1]]}"', str(html)
    )
    return mark_safe(styled)  # noqa: S308 - sanitized HTML, with constant attributes added


@dataclass(frozen=True)
class ComponentLine:
    """A component in an email: its status now and, when this update changed it, before."""

    name: str
    status: str
    colour: str
    was: str | None


def _changes_across(updates: list[IncidentUpdate]) -> list[Any]:
    """The public component changes of `updates` (oldest first) as one change per component:
    from its status before the first to its status after the last."""
    merged: dict[int, Any] = {}
    for update in updates:
        for change in getattr(update, "public_component_changes", []):
            first = merged.get(change.component_id)
            if first is None:
                merged[change.component_id] = change
            else:
                spanning = copy.copy(change)
                spanning.old_status = first.old_status
                merged[change.component_id] = spanning
    return list(merged.values())


def _component_lines(components: list[Component], changes: list[Any]) -> list[ComponentLine]:
    changed = {change.component_id: change for change in changes}
    lines = []
    for component in components:
        change = changed.pop(component.pk, None)
        status = change.new_status if change is not None else component.status
        lines.append(
            ComponentLine(
                name=component.name,
                status=ComponentStatus(status).label,
                colour=COMPONENT_COLOURS.get(status, _MUTED),
                was=change.get_old_status_display() if change is not None else None,
            )
        )
    for change in changed.values():  # a component this update released from the incident
        lines.append(
            ComponentLine(
                name=change.component.name,
                status=change.get_new_status_display(),
                colour=COMPONENT_COLOURS.get(change.new_status, _MUTED),
                was=change.get_old_status_display(),
            )
        )
    return lines


def event_email(
    *,
    kind: str,
    incident: Incident,
    update_id: int | None,
    update: IncidentUpdate | None = None,
    earlier_update_ids: Collection[int] = (),
) -> EventEmail:
    """Render the email announcing one event of `incident`.

    `incident` must come through serializers.with_serialization_prefetches: only its public
    components (and the public components of its updates' changes) are ever shown. An unsaved
    `update` (with its `public_component_changes`) renders the email of an update not posted yet.
    `earlier_update_ids`: updates posted since the subscriber's last email and told in this one
    (notifications are coalesced per incident): they are listed, and what they changed counts
    as changed.
    """
    if update is None:
        update = _update_of(update_id, incident)
    earlier = sorted(
        (u for u in incident.updates.all() if u.pk in earlier_update_ids and u != update),
        key=lambda u: (u.display_at, u.pk),
    )
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
            for change in _changes_across([*earlier, update])
            if change.old_status != change.new_status
        ]
    )
    message_markdown = (
        incident.postmortem_body if is_postmortem else (update.body if update else "")
    )
    status = "postmortem" if is_postmortem else (update.status if update else incident.status)
    brand = branding()
    context = {
        "kind": kind,
        "label": label,
        "status_label": "Postmortem" if is_postmortem else _status_label(incident, update),
        "status_colour": status_colour(kind=kind, incident=incident, status=status),
        "page_name": brand.name,
        "logo_url": brand.logo_url,
        "incident": incident,
        "update": update,
        "is_postmortem": is_postmortem,
        "is_reminder": kind == EventKind.MAINTENANCE_REMINDER,
        "message_markdown": message_markdown,
        "message_html": email_html(render_markdown(message_markdown)),
        "earlier_updates": [
            {
                "update": u,
                "status_label": u.status_label,
                "body_html": email_html(render_markdown(u.body)),
            }
            for u in earlier
        ],
        "components": components,
        "changes": changes,
        "component_lines": _component_lines(components, changes),
        "incident_url": settings.SITE_URL + incident.get_absolute_url(),
        "link_label": (
            "Read the postmortem"
            if is_postmortem
            else "View the maintenance"
            if incident.is_maintenance
            else "View the incident"
        ),
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
    brand = branding()
    context = {
        "page_name": brand.name,
        "logo_url": brand.logo_url,
        "page_url": settings.SITE_URL + "/",
        "subscriber": subscriber,
        "components": components,
        "confirm_url": tokens.confirm_url(subscriber),
        "confirm_hours": settings.NOTIFY_CONFIRM_MAX_AGE_HOURS,
        "manage_url": tokens.manage_url(subscriber),
        "subscribe_url": settings.SITE_URL + reverse("notifications:subscribe"),
    }
    if notice == Notice.CONFIRM:
        subject = f"Confirm your subscription to {context['page_name']}"
        template = "notifications/email/confirm"
    else:
        subject = f"You are already subscribed to {context['page_name']}"
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


def event_update(incident: Incident, update_id: int | None) -> IncidentUpdate | None:
    """The update an event of `incident` tells (its newest when the event names none)."""
    return _update_of(update_id, incident)


def event_status_label(kind: str, incident: Incident, update: IncidentUpdate | None) -> str:
    """The one status a message about the event shows (emails and chat messages alike)."""
    if kind == EventKind.POSTMORTEM_PUBLISHED:
        return "Postmortem"
    return _status_label(incident, update)
