"""Factory functions for subscribers: real rows, built through the models and services."""

from __future__ import annotations

import itertools

from django.utils import timezone

from notifications.models import Subscriber, SubscriberKind
from notifications.subscriptions import webhook_create
from statuspage.models import Component

_counter = itertools.count(1)


def make_subscriber(
    email: str | None = None,
    *,
    components: list[Component] | None = None,
    confirmed: bool = True,
    **fields: object,
) -> Subscriber:
    subscriber = Subscriber.objects.create(
        kind=SubscriberKind.EMAIL,
        email=email or f"person{next(_counter)}@example.com",
        confirmed_at=timezone.now() if confirmed else None,
        **fields,
    )
    subscriber.components.set(components or [])
    return subscriber


def make_webhook(url: str, *, components: list[Component] | None = None) -> Subscriber:
    return webhook_create(url=url, components=components or [])
