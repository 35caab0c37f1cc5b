"""Subscribers: list, filter, count, create, change components, unsubscribe, resend the
confirmation, through notifications' subscription services.

An email address confirms by its own link, as on the public form (double opt-in), unless the
request says `skip_confirmation_notification: true`: the key's owner, who may add subscribers,
vouches that the address opted in elsewhere, as staff do when they import a list, and it is
active at once without any email. A webhook endpoint added with a key is trusted like one staff
add in the admin: confirmed at once.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from manage import fields
from manage.errors import Invalid, NotFound
from manage.http import Call, Json
from manage.views.components import components_by_ids
from notifications.addresses import EmailRefused
from notifications.models import Subscriber, SubscriberKind
from notifications.subscriptions import (
    subscription_leave,
    subscription_request,
    subscription_set_components,
    webhook_create,
)
from website.serializers import format_timestamp

LIMIT_MAX = 100
_STATES = ("active", "unconfirmed", "quarantined", "unsubscribed", "all")
_TYPES = ("email", "webhook")
_SORT_FIELDS = {"primary": "email", "created_at": "created_at", "quarantined_at": "disabled_at"}


def manage_subscriber(subscriber: Subscriber, *, skipped: bool = False) -> Json:
    """The subscriber object; `skipped` when this request created it without a confirmation."""
    return {
        "id": subscriber.public_id,
        "mode": subscriber.kind,
        "email": subscriber.email or None,
        "endpoint": subscriber.url or None,
        "phone_number": None,
        "phone_country": None,
        "display_phone_number": None,
        "obfuscated_channel_name": None,
        "workspace_name": None,
        "skip_confirmation_notification": skipped or subscriber.kind == SubscriberKind.WEBHOOK,
        "quarantined_at": format_timestamp(subscriber.disabled_at),
        "purge_at": None,
        "components": [c.public_id for c in subscriber.components.all()],
        "page_access_user_id": None,
        "created_at": format_timestamp(subscriber.created_at),
        "state": subscriber.state,
    }


def _filtered(params: Any, *, default_state: str = "active") -> QuerySet[Subscriber]:
    subscribers = Subscriber.objects.all()
    kind = params.get("type") or None
    if kind is not None:
        if kind not in _TYPES:
            raise Invalid(f"type is not included in the list ({', '.join(_TYPES)})")
        subscribers = subscribers.filter(kind=kind)
    state = params.get("state") or default_state
    if state not in _STATES:
        raise Invalid(f"state is not included in the list ({', '.join(_STATES)})")
    if state == "active":
        subscribers = subscribers.active()
    elif state == "unconfirmed":
        subscribers = subscribers.filter(confirmed_at__isnull=True, unsubscribed_at__isnull=True)
    elif state == "quarantined":
        subscribers = subscribers.filter(disabled_at__isnull=False)
    elif state == "unsubscribed":
        subscribers = subscribers.filter(unsubscribed_at__isnull=False)
    return subscribers


def find_subscriber(public_id: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(public_id=public_id).first()
    if subscriber is None:
        raise NotFound()
    return subscriber


def list_subscribers(call: Call) -> tuple[int, Json]:
    params = call.request.GET
    subscribers = _filtered(params)
    query = params.get("q", "").strip()
    if query:
        subscribers = subscribers.filter(Q(email__icontains=query) | Q(url__icontains=query))
    sort_field = params.get("sort_field") or "created_at"
    if sort_field not in _SORT_FIELDS:
        raise Invalid(f"sort_field is not included in the list ({', '.join(_SORT_FIELDS)})")
    direction = params.get("sort_direction") or "asc"
    if direction not in ("asc", "desc"):
        raise Invalid("sort_direction is not included in the list (asc, desc)")
    order = _SORT_FIELDS[sort_field]
    subscribers = subscribers.order_by(("-" if direction == "desc" else "") + order, "id")
    page = fields.query_int(params.get("page"), "page", default=1, maximum=10**6)
    limit = fields.query_int(params.get("limit"), "limit", default=LIMIT_MAX, maximum=LIMIT_MAX)
    rows = subscribers.prefetch_related("components")[(page - 1) * limit : page * limit]
    return 200, [manage_subscriber(s) for s in rows]


def count_subscribers(call: Call) -> tuple[int, Json]:
    return 200, {"count": _filtered(call.request.GET).count()}


def create_subscriber(call: Call) -> tuple[int, Json]:
    data = call.section("subscriber", required=True)
    email = fields.text(data, "email")
    endpoint = fields.text(data, "endpoint")
    ids = fields.id_list(data, "component_ids") or []
    skip = fields.boolean(data, "skip_confirmation_notification") is True
    components = components_by_ids(ids, field="component_ids")
    if bool(email) == bool(endpoint):
        raise Invalid("give either email or endpoint")
    if email:
        try:
            subscriber = subscription_request(email=email, components=components, confirmed=skip)
        except EmailRefused as error:
            raise Invalid(f"email {error}") from error
        if skip:
            call.added(subscriber, "Added the subscriber, confirmed without an email.")
            return 201, manage_subscriber(subscriber, skipped=True)
    else:
        url = (endpoint or "").strip()
        if not url.startswith(("https://", "http://")) or any(
            ch.isspace() or not ch.isprintable() for ch in url
        ):
            raise Invalid("endpoint must be an http(s) URL")
        if Subscriber.objects.filter(kind=SubscriberKind.WEBHOOK, url=url).exists():
            raise Invalid("endpoint is already subscribed")
        subscriber = webhook_create(url=url, components=components)
        subscriber.full_clean()
    call.added(subscriber, "Added the subscriber.")
    return 201, manage_subscriber(subscriber)


def get_subscriber(call: Call) -> tuple[int, Json]:
    return 200, manage_subscriber(find_subscriber(call.kwargs["subscriber_id"]))


def update_subscriber(call: Call) -> tuple[int, Json]:
    subscriber = find_subscriber(call.kwargs["subscriber_id"])
    ids = fields.id_list(call.body, "component_ids")
    if ids is None:
        ids = fields.id_list(call.section("subscriber"), "component_ids")
    if ids is None:
        raise Invalid("component_ids can't be blank")
    subscription_set_components(
        subscriber=subscriber, components=components_by_ids(ids, field="component_ids")
    )
    call.record(subscriber, "Changed the components followed.")
    return 200, manage_subscriber(subscriber)


def delete_subscriber(call: Call) -> tuple[int, Json]:
    subscriber = find_subscriber(call.kwargs["subscriber_id"])
    subscription_leave(subscriber=subscriber)
    subscriber.refresh_from_db()
    call.record(subscriber, "Unsubscribed.")
    return 200, manage_subscriber(subscriber)


def _named(call: Call) -> QuerySet[Subscriber]:
    """The subscribers a bulk action names: `subscribers` ids, or "all" of `type` and `state`."""
    named = call.body.get("subscribers", call.request.GET.get("subscribers"))
    if named == "all":
        return _filtered({**call.request.GET.dict(), **call.body}, default_state="active")
    ids = fields.id_list({"subscribers": named}, "subscribers")
    if not ids:
        raise Invalid('subscribers must be a list of ids or "all"')
    found = Subscriber.objects.filter(public_id__in=ids)
    if found.count() != len(set(ids)):
        raise Invalid("subscribers names an unknown subscriber")
    return found


def unsubscribe_many(call: Call) -> tuple[int, Json]:
    left = 0
    for subscriber in _named(call):
        left += subscription_leave(subscriber=subscriber)
        call.record(subscriber, "Unsubscribed.")
    return 202, {"unsubscribed": left}


def _resend(call: Call, subscriber: Subscriber) -> bool:
    if subscriber.kind != SubscriberKind.EMAIL or subscriber.is_active:
        return False
    subscription_request(email=subscriber.email, components=list(subscriber.components.all()))
    call.record(subscriber, "Sent the confirmation again.")
    return True


def resend_many(call: Call) -> tuple[int, Json]:
    sent = sum(_resend(call, s) for s in _named(call))
    return 202, {"sent": sent}


def resend_one(call: Call) -> tuple[int, Json]:
    subscriber = find_subscriber(call.kwargs["subscriber_id"])
    if not _resend(call, subscriber):
        raise Invalid("only an unconfirmed email subscriber gets a confirmation")
    return 201, manage_subscriber(subscriber)
