"""The life of a subscription: ask (double opt-in), confirm, choose components, leave; staff
adding webhooks and importing lists; and sending the notices about a subscription itself.

Asking never tells the asker anything about the address: whether it is new, waiting for
confirmation or long subscribed, the same thing happens on the page, and only the mailbox's
owner learns which (a confirmation link, or a note with their manage link).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications import dispatch
from notifications.emails import notice_email
from notifications.models import Delivery, DeliveryStatus, Notice, Subscriber, SubscriberKind
from notifications.transports import EmailTransport, TransportError
from statuspage.models import Component

logger = logging.getLogger(__name__)


def normalize_email(email: str) -> str:
    """Trim, and lower-case the domain (the local part is the mailbox owner's business)."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else email.strip()


def _request_notice(subscriber: Subscriber, notice: str) -> None:
    subscriber.notice = notice
    subscriber.notice_requested_at = timezone.now()
    subscriber.save(update_fields=["notice", "notice_requested_at"])
    dispatch.publish_after_commit("send_subscriber_notice", subscriber.pk)


@transaction.atomic
def subscription_request(*, email: str, components: Iterable[Component] = ()) -> Subscriber:
    """Someone asks for `email` to be subscribed.

    A new, unconfirmed or departed address gets a confirmation link (and the components asked
    for, which count only once it is confirmed); an active one gets a note with its manage link
    and keeps its choice, since whoever asked may not own it.
    """
    address = normalize_email(email)
    subscriber = (
        Subscriber.objects.select_for_update()
        .filter(kind=SubscriberKind.EMAIL, email__iexact=address)
        .first()
    )
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(kind=SubscriberKind.EMAIL, email=address)
        except IntegrityError:  # the same address asked twice at the same moment
            subscriber = Subscriber.objects.select_for_update().get(
                kind=SubscriberKind.EMAIL, email__iexact=address
            )
    if subscriber.is_active:
        _request_notice(subscriber, Notice.ALREADY_SUBSCRIBED)
    else:
        subscriber.components.set(list(components))
        _request_notice(subscriber, Notice.CONFIRM)
    return subscriber


@transaction.atomic
def subscription_confirm(*, subscriber: Subscriber) -> bool:
    """Confirm the address (again, after leaving or being disabled); False if already active."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.is_active:
        return False
    subscriber.confirmed_at = timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.disabled_at = None
    subscriber.disabled_reason = ""
    subscriber.consecutive_failures = 0
    subscriber.save(
        update_fields=[
            "confirmed_at",
            "unsubscribed_at",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
        ]
    )
    return True


@transaction.atomic
def subscription_set_components(*, subscriber: Subscriber, components: Iterable[Component]) -> None:
    """Follow these components from now on (none: every component)."""
    subscriber.components.set(list(components))


@transaction.atomic
def subscription_leave(*, subscriber: Subscriber) -> bool:
    """Stop everything for this subscriber, including deliveries not sent yet; False if it had
    left already."""
    left = Subscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now(), notice="", notice_requested_at=None
    )
    Delivery.objects.filter(subscriber=subscriber, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, last_error="The subscriber unsubscribed."
    )
    return bool(left)


@transaction.atomic
def subscriber_enable(*, subscriber: Subscriber) -> None:
    """Staff turn a disabled subscriber back on (after the endpoint or mailbox was fixed)."""
    Subscriber.objects.filter(pk=subscriber.pk).update(
        disabled_at=None, disabled_reason="", consecutive_failures=0
    )


@transaction.atomic
def webhook_create(*, url: str, components: Iterable[Component] = ()) -> Subscriber:
    """Staff add a webhook subscriber: trusted, so it is confirmed at once."""
    subscriber = Subscriber.objects.create(
        kind=SubscriberKind.WEBHOOK, url=url.strip(), confirmed_at=timezone.now()
    )
    subscriber.components.set(list(components))
    return subscriber


# Notices


def subscriber_send_notice(*, subscriber_id: int) -> bool:
    """Send the notice a subscriber is waiting for (confirm, or already subscribed).

    The notice is claimed with a conditional update, so two workers never both send it. A
    notice the mail server refuses is dropped with a log line: the page told the visitor to
    look in their inbox, and they can ask again.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).exclude(notice="").first()
    if subscriber is None or subscriber.kind != SubscriberKind.EMAIL:
        return False
    notice = subscriber.notice
    claimed = Subscriber.objects.filter(pk=subscriber.pk, notice=notice).update(
        notice="", notice_requested_at=None
    )
    if not claimed:
        return False
    try:
        with EmailTransport() as transport:
            transport.send(notice_email(subscriber, notice))
    except TransportError as error:
        logger.warning(
            "Could not send the %s notice to subscriber %s: %s", notice, subscriber.pk, error
        )
        return False
    return True
