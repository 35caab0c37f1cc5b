"""Signed tokens in subscription links: confirm (expires, single use), manage and unsubscribe
(do not).

Each kind has its own salt, so a token for one action never works for another. Tokens carry the
subscriber's random public id, never the database id or the address. A confirm token also
carries a digest of the subscription's state when it was made (confirmed, left, disabled): any
change of that state, confirming first of all, makes it stale, so an old link cannot bring back
an address that has left since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.core import signing
from django.urls import reverse

from notifications.models import Subscriber

_CONFIRM_SALT = "notifications.confirm"
_MANAGE_SALT = "notifications.manage"
_UNSUBSCRIBE_SALT = "notifications.unsubscribe"


class InvalidToken(Exception):
    """A token that was tampered with, is for another action, or has expired."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def confirm_max_age() -> dt.timedelta:
    return dt.timedelta(hours=settings.NOTIFY_CONFIRM_MAX_AGE_HOURS)


def confirm_state(subscriber: Subscriber) -> str:
    """A digest of what confirming changes; equal for every link sent while it stays so."""
    moments = (subscriber.confirmed_at, subscriber.unsubscribed_at, subscriber.disabled_at)
    text = "|".join(moment.isoformat() if moment else "" for moment in moments)
    return hashlib.blake2b(text.encode(), digest_size=9).hexdigest()


def confirm_token(subscriber: Subscriber) -> str:
    value = f"{subscriber.public_id}.{confirm_state(subscriber)}"
    return signing.TimestampSigner(salt=_CONFIRM_SALT).sign(value)


def manage_token(subscriber: Subscriber) -> str:
    return signing.Signer(salt=_MANAGE_SALT).sign(subscriber.public_id)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign(subscriber.public_id)


def _subscriber(public_id: str) -> Subscriber:
    try:
        return Subscriber.objects.get(public_id=public_id)
    except Subscriber.DoesNotExist:
        raise InvalidToken() from None


def subscriber_from_confirm_token(token: str) -> Subscriber:
    """The subscriber a confirm link is for, while the link is fresh and its state current."""
    try:
        value = signing.TimestampSigner(salt=_CONFIRM_SALT).unsign(token, max_age=confirm_max_age())
    except signing.SignatureExpired:
        raise InvalidToken(expired=True) from None
    except signing.BadSignature:
        raise InvalidToken() from None
    public_id, _, state = value.rpartition(".")
    subscriber = _subscriber(public_id)
    if not hmac.compare_digest(state, confirm_state(subscriber)):
        raise InvalidToken()
    return subscriber


def subscriber_from_manage_token(token: str) -> Subscriber:
    try:
        return _subscriber(signing.Signer(salt=_MANAGE_SALT).unsign(token))
    except signing.BadSignature:
        raise InvalidToken() from None


def subscriber_from_unsubscribe_token(token: str) -> Subscriber:
    try:
        return _subscriber(signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign(token))
    except signing.BadSignature:
        raise InvalidToken() from None


def confirm_url(subscriber: Subscriber) -> str:
    path = reverse("notifications:confirm", kwargs={"token": confirm_token(subscriber)})
    return settings.SITE_URL + path


def manage_url(subscriber: Subscriber) -> str:
    path = reverse("notifications:manage", kwargs={"token": manage_token(subscriber)})
    return settings.SITE_URL + path


def unsubscribe_url(subscriber: Subscriber) -> str:
    path = reverse("notifications:unsubscribe", kwargs={"token": unsubscribe_token(subscriber)})
    return settings.SITE_URL + path
