"""Public subscription pages: subscribe, confirm, manage, unsubscribe, and the webhooks page
with its sign-up form.

Views route: they check that staff offer the channel (the page settings), the form, the rate
limits and the signed token, then call a service.
Nothing here sends mail, posts to an endpoint or looks a host name up: the services enqueue the
sending for the workers. The webhook sign-up form refuses what the URL alone gives away (an
address literal outside the public internet, a local name); the workers resolve the host when
they connect and check every address then (notifications/endpoints.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_htmx.middleware import HtmxDetails

from notifications import ratelimit, subscriptions, tokens
from notifications.addresses import email_domain
from notifications.forms import (
    CHAT_EXAMPLES,
    ChatSignupForm,
    ComponentChoiceForm,
    ComponentsForm,
    SubscribeForm,
    WebhookSignupForm,
    component_choices,
)
from notifications.models import ChatService, new_webhook_secret
from notifications.payloads import documentation_url
from statuspage.branding import Page, current_page
from statuspage.models import Component
from website.caching import Variant, is_standby_render, standby_page

_FORM_PARTIAL = "notifications/_subscribe_form.html"
_NOT_OFFERED_PARTIAL = "notifications/_not_offered.html"

Channel = Literal["email", "webhooks", "chat"]

# Each sign-up page's channel: how the page names it, and how another page offers it.
_CHANNELS: dict[Channel, tuple[str, str, str]] = {
    "email": ("Email subscriptions are", "email subscriptions", "by email"),
    "chat": (
        "Chat channels are",
        "chat channels",
        "in a chat channel (Slack, Teams, Discord, Mattermost, Google Chat)",
    ),
    "webhooks": ("Webhook sign-ups are", "webhook endpoints", "with a webhook"),
}
_ROUTES: dict[Channel, str] = {
    "email": "notifications:subscribe",
    "chat": "notifications:chat",
    "webhooks": "notifications:webhook_docs",
}


@dataclass(frozen=True)
class NotOffered:
    """What a sign-up page shows in place of its form when staff turned its channel off."""

    element_id: str
    title: str
    what: str
    alternatives: list[tuple[str, str]]
    # Offered, but not taken for a moment: the page's standby copy, shown while the database
    # cannot be reached.
    paused: bool = False


def _feed_alternatives(page: Page) -> list[tuple[str, str]]:
    if not page.settings.allow_rss_atom_feeds:
        return []
    return [
        ("in a feed reader (Atom)", reverse("history-atom")),
        ("in a feed reader (RSS)", reverse("history-rss")),
    ]


def _not_offered(channel: Channel, element_id: str) -> NotOffered | None:
    """None when the page settings offer `channel`; else what to say, with the ways to follow
    the page that are still offered. Subscribers signed up before keep being notified: the
    switches govern the sign-up pages only."""
    page = current_page()
    offered: dict[Channel, bool] = {
        "email": page.offers_email,
        "chat": page.offers_chat,
        "webhooks": page.offers_webhooks,
    }
    if offered[channel]:
        return None
    alternatives = [
        (_CHANNELS[other][2], reverse(_ROUTES[other]))
        for other, on in offered.items()
        if on and other != channel
    ]
    alternatives += _feed_alternatives(page)
    if not page.settings.allow_page_subscribers:
        return NotOffered(
            element_id, "This page does not offer subscriptions", "subscriptions", alternatives
        )
    title, what, _ = _CHANNELS[channel]
    return NotOffered(element_id, f"{title} not offered", what, alternatives)


def _sign_up_standby() -> list[Variant]:
    """The standby copy of a sign-up page shows the branding, the page settings and the code,
    which the publication's global fingerprint covers, and these settings: it is rendered again
    only when one of them changes."""
    shown = (
        settings.NOTIFY_CONFIRM_MAX_AGE_HOURS,
        settings.NOTIFY_WEBHOOK_TIMEOUT,
        settings.NOTIFY_MAX_ATTEMPTS,
        settings.NOTIFY_RETRY_BASE_SECONDS,
        documentation_url(),
    )
    return [Variant(fingerprint=repr(shown))]


def _not_taken(request: HttpRequest, channel: Channel, element_id: str) -> NotOffered | None:
    """What a sign-up page shows in place of its form: the channel not offered, or, in the
    standby copy the publication keeps for while the database is away, sign-ups paused (the
    feeds, served from the publication, still work then)."""
    not_offered = _not_offered(channel, element_id)
    if not_offered is not None or not is_standby_render(request):
        return not_offered
    return NotOffered(
        element_id,
        "Sign-ups are paused for a moment",
        _CHANNELS[channel][1],
        _feed_alternatives(current_page()),
        paused=True,
    )


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it: `htmx` is truthy for htmx's requests."""

    htmx: HtmxDetails


def _chosen(form: ComponentChoiceForm) -> set[str]:
    return form.chosen_ids()


def _subscribe_context(form: SubscribeForm, **extra: object) -> dict[str, object]:
    return {
        "form": form,
        "component_groups": component_choices(_chosen(form)),
        "confirm_hours": settings.NOTIFY_CONFIRM_MAX_AGE_HOURS,
        **extra,
    }


def _render_subscribe(
    request: HtmxHttpRequest, context: dict[str, object], status: int = 200
) -> HttpResponse:
    if request.htmx:
        # htmx swaps only 2xx answers; the message in the form says what went wrong.
        return render(request, _FORM_PARTIAL, context)
    return render(request, "notifications/subscribe.html", context, status=status)


# The subscribe form acts for nobody: posting it can only make us mail a confirmation link, so
# there is no session for a forged request to ride. Without a CSRF token the form can sit in the
# cached home page; rate limits and double opt-in stop abuse.
@standby_page(variants=_sign_up_standby)
@csrf_exempt
@require_http_methods(["GET", "POST"])
def subscribe(request: HtmxHttpRequest) -> HttpResponse:
    not_offered = _not_taken(request, "email", "subscribe-form")
    if not_offered is not None:
        # A page rendered before staff turned email off may still post its form: htmx swaps
        # the notice in where the form was.
        if request.method == "POST" and request.htmx:
            return render(request, _NOT_OFFERED_PARTIAL, {"not_offered": not_offered})
        status = 403 if request.method == "POST" else 200
        return render(
            request, "notifications/subscribe.html", {"not_offered": not_offered}, status=status
        )
    if request.method == "GET":
        return _render_subscribe(request, _subscribe_context(SubscribeForm()))

    form = SubscribeForm(request.POST)
    by_address = ratelimit.hit(
        "subscribe-ip",
        ratelimit.client_key(request),
        limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP,
    )
    if not by_address.allowed:
        error = (
            "Too many subscription requests have come from your network. Please try again in "
            f"{by_address.retry_after_minutes} minutes."
        )
        return _render_subscribe(request, _subscribe_context(form, error=error), status=429)
    if not form.is_valid():
        return _render_subscribe(request, _subscribe_context(form))

    email = form.cleaned_data["email"]
    if not form.is_robot:
        by_email = ratelimit.hit(
            "subscribe-email", email.lower(), limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL
        )
        if not by_email.allowed:
            error = (
                "We have already sent several emails to this address in the last hour. Please "
                "look in your inbox (and spam folder), or try again in "
                f"{by_email.retry_after_minutes} minutes."
            )
            return _render_subscribe(request, _subscribe_context(form, error=error), status=429)
        by_domain = ratelimit.hit(
            "subscribe-domain",
            email_domain(email),
            limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_DOMAIN,
        )
        if not by_domain.allowed:
            error = (
                "We have had too many subscription requests for addresses at this domain in the "
                f"last hour. Please try again in {by_domain.retry_after_minutes} minutes."
            )
            return _render_subscribe(request, _subscribe_context(form, error=error), status=429)
        subscriptions.subscription_request(email=email, components=form.cleaned_data["components"])
    return _render_subscribe(request, _subscribe_context(SubscribeForm(), sent_to=email))


def _invalid_link(request: HttpRequest, error: tokens.InvalidToken) -> HttpResponse:
    return render(
        request,
        "notifications/link_invalid.html",
        {"expired": error.expired, "confirm_hours": settings.NOTIFY_CONFIRM_MAX_AGE_HOURS},
        status=400,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: link scanners that open every link in a mailbox
    must not confirm on the owner's behalf."""
    try:
        subscriber = tokens.subscriber_from_confirm_token(token)
    except tokens.InvalidToken as error:
        return _invalid_link(request, error)
    context = {"subscriber": subscriber, "manage_url": tokens.manage_url(subscriber)}
    if request.method == "POST":
        subscriptions.subscription_confirm(subscriber=subscriber)
        subscriber.refresh_from_db()
        return render(request, "notifications/confirmed.html", context)
    if subscriber.is_active:
        return render(request, "notifications/confirmed.html", context)
    context["component_names"] = list(
        subscriber.components.filter(pk__in=Component.objects.public()).values_list(
            "name", flat=True
        )
    )
    return render(request, "notifications/confirm.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = tokens.subscriber_from_manage_token(token)
    except tokens.InvalidToken as error:
        return _invalid_link(request, error)
    if request.method == "POST" and request.POST.get("action") == "leave":
        subscriptions.subscription_leave(subscriber=subscriber)
        return render(request, "notifications/unsubscribed.html", {"subscriber": subscriber})

    saved = False
    if request.method == "POST":
        form = ComponentsForm(request.POST)
        if form.is_valid():
            subscriptions.subscription_set_components(
                subscriber=subscriber, components=form.cleaned_data["components"]
            )
            saved = True
        checked = _chosen(form)
    else:
        form = ComponentsForm()
        checked = set(subscriber.components.values_list("public_id", flat=True))
    return render(
        request,
        "notifications/manage.html",
        {
            "subscriber": subscriber,
            "form": form,
            "saved": saved,
            "component_groups": component_choices(checked),
            "unsubscribe_url": tokens.unsubscribe_url(subscriber),
        },
    )


# RFC 8058 one-click unsubscribe: mail providers POST "List-Unsubscribe=One-Click" to the URL in
# the List-Unsubscribe header, with no cookie and no CSRF token. The signed token in the URL is
# what authorises it; nothing else is accepted.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = tokens.subscriber_from_unsubscribe_token(token)
    except tokens.InvalidToken as error:
        if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(
                "This unsubscribe link is not valid.\n", status=400, content_type="text/plain"
            )
        return _invalid_link(request, error)
    if request.method == "GET":
        return render(request, "notifications/unsubscribe.html", {"subscriber": subscriber})
    subscriptions.subscription_leave(subscriber=subscriber)
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return HttpResponse("Unsubscribed.\n", content_type="text/plain")
    return render(request, "notifications/unsubscribed.html", {"subscriber": subscriber})


def _render_webhooks(
    request: HttpRequest, form: WebhookSignupForm, status: int = 200, **extra: object
) -> HttpResponse:
    context = {
        "form": form,
        "component_groups": component_choices(_chosen(form)),
        "documentation_url": documentation_url(),
        "timeout": settings.NOTIFY_WEBHOOK_TIMEOUT,
        "attempts": settings.NOTIFY_MAX_ATTEMPTS,
        "first_retry_minutes": max(1, settings.NOTIFY_RETRY_BASE_SECONDS // 60),
        **extra,
    }
    return render(request, "notifications/webhooks.html", context, status=status)


# Unlike the email form, this one is CSRF-protected, so another site cannot make its visitors'
# browsers sign up URLs of its choosing (each costs challenge requests from our workers), and
# never cached: the page carries a per-visitor token and, after a sign-up, the signing secret.
@standby_page(variants=_sign_up_standby)
@never_cache
@require_http_methods(["GET", "POST"])
def webhook_docs(request: HttpRequest) -> HttpResponse:
    """The webhooks documentation with the sign-up form; a sign-up answers the same whether the
    URL is new or already there (only the endpoint learns which, by getting a challenge).
    Without webhook sign-ups offered, the page keeps the documentation for the endpoints
    signed up before and refuses sign-ups."""
    not_offered = _not_taken(request, "webhooks", "webhook-signup")
    if not_offered is not None:
        status = 403 if request.method == "POST" else 200
        return _render_webhooks(
            request, WebhookSignupForm(), status=status, not_offered=not_offered
        )
    if request.method == "GET":
        return _render_webhooks(request, WebhookSignupForm())

    form = WebhookSignupForm(request.POST)
    by_address = ratelimit.hit(
        "webhook-ip",
        ratelimit.client_key(request),
        limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP,
    )
    if not by_address.allowed:
        error = (
            "Too many sign-ups have come from your network. Please try again in "
            f"{by_address.retry_after_minutes} minutes."
        )
        return _render_webhooks(request, form, status=429, error=error)
    if not form.is_valid():
        return _render_webhooks(request, form, status=400)

    url = form.cleaned_data["url"]
    if form.is_robot:
        signup = subscriptions.WebhookSignup(url=url, secret=new_webhook_secret())
    else:
        by_url = ratelimit.hit("webhook-url", url, limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL)
        if not by_url.allowed:
            error = (
                "This URL has been signed up several times in the last hour. Please try again "
                f"in {by_url.retry_after_minutes} minutes."
            )
            return _render_webhooks(request, form, status=429, error=error)
        by_host = ratelimit.hit(
            "webhook-host",
            urlsplit(url).hostname or "",
            limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_DOMAIN,
        )
        if not by_host.allowed:
            error = (
                "We have had too many sign-ups for URLs on this host in the last hour. Please "
                f"try again in {by_host.retry_after_minutes} minutes."
            )
            return _render_webhooks(request, form, status=429, error=error)
        signup = subscriptions.webhook_signup(url=url, components=form.cleaned_data["components"])
    return _render_webhooks(request, WebhookSignupForm(), signup=signup)


def _render_chat(
    request: HttpRequest, form: ChatSignupForm, status: int = 200, **extra: object
) -> HttpResponse:
    context = {
        "form": form,
        "component_groups": component_choices(_chosen(form)),
        "examples": CHAT_EXAMPLES,
        "confirm_hours": settings.NOTIFY_CONFIRM_MAX_AGE_HOURS,
        **extra,
    }
    return render(request, "notifications/chat.html", context, status=status)


# CSRF-protected and never cached, like the webhook sign-up: each sign-up costs a message
# posted by our workers, which another site must not be able to trigger from its visitors.
@standby_page(variants=_sign_up_standby)
@never_cache
@require_http_methods(["GET", "POST"])
def chat(request: HttpRequest) -> HttpResponse:
    """Add a chat channel by its incoming-webhook URL. The channel gets a message with a
    confirmation link (or, when it is subscribed already, its manage link); the page says the
    same either way."""
    not_offered = _not_taken(request, "chat", "chat-signup")
    if not_offered is not None:
        status = 403 if request.method == "POST" else 200
        return _render_chat(request, ChatSignupForm(), status=status, not_offered=not_offered)
    if request.method == "GET":
        return _render_chat(request, ChatSignupForm())

    form = ChatSignupForm(request.POST)
    by_address = ratelimit.hit(
        "chat-ip", ratelimit.client_key(request), limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP
    )
    if not by_address.allowed:
        error = (
            "Too many sign-ups have come from your network. Please try again in "
            f"{by_address.retry_after_minutes} minutes."
        )
        return _render_chat(request, form, status=429, error=error)
    if not form.is_valid():
        return _render_chat(request, form, status=400)
    service = form.cleaned_data["service"]
    if not form.is_robot:
        url = form.cleaned_data["url"]
        by_url = ratelimit.hit("chat-url", url, limit=settings.NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL)
        if not by_url.allowed:
            error = (
                "We have already posted several messages to this channel in the last hour. "
                f"Please look there, or try again in {by_url.retry_after_minutes} minutes."
            )
            return _render_chat(request, form, status=429, error=error)
        subscriptions.chat_signup(
            service=service, url=url, components=form.cleaned_data["components"]
        )
    return _render_chat(request, ChatSignupForm(), sent_to=ChatService(service).label)
