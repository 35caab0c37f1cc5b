"""The Atom and RSS feeds of the page's history: one entry per public incident or maintenance.

An entry's id and link are the incident page's absolute address; its content is the update
timeline rendered to HTML. Feeds are served like the API: GET and HEAD, a short public cache,
and an ETag so a polling reader gets a 304 when nothing changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import cache
from django.db.models.functions import Least
from django.http import HttpRequest, HttpResponse
from django.utils import feedgenerator, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident
from statuspage.branding import current_page
from statuspage.markdown import render_markdown
from statuspage.text import strip_control_characters
from website.api import SAFE_METHODS, conditional_response, method_not_allowed
from website.caching import public_page

FEED_LENGTH = 50

# Rendered markdown is cached by the text's digest, so an edited text is simply a new key.
# Bump the version when the markdown rendering changes.
_MARKDOWN_CACHE_VERSION = "3"
_MARKDOWN_CACHE_SECONDS = 24 * 3600


def _markdown_cache_key(text: str) -> str:
    digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return f"feed-md:{_MARKDOWN_CACHE_VERSION}:{digest}"


def render_markdown_many(texts: Iterable[str]) -> dict[str, SafeString]:
    """render_markdown for many texts at once, through the cache: one round trip to read."""
    keys = {text: _markdown_cache_key(text) for text in set(texts)}
    cached = cache.get_many(list(keys.values()))
    rendered: dict[str, SafeString] = {}
    missing: dict[str, str] = {}
    for text, key in keys.items():
        if key in cached:
            rendered[text] = mark_safe(cached[key])  # noqa: S308 - stored after sanitizing
        else:
            rendered[text] = render_markdown(text)
            missing[key] = str(rendered[text])
    if missing:
        cache.set_many(missing, _MARKDOWN_CACHE_SECONDS)
    return rendered


def _format_time(value: dt.datetime) -> SafeString:
    """A <time> element, shown in the page's zone with its abbreviation."""
    local = timezone.localtime(value, timezone.get_default_timezone())
    text = f"{local:%b} {local.day}, {local:%Y %H:%M} {local.tzname()}"
    return format_html('<time datetime="{}">{}</time>', local.isoformat(timespec="seconds"), text)


def timeline_html(incident: Incident, rendered: dict[str, SafeString]) -> SafeString:
    """The incident's postmortem and updates, newest first; `rendered` maps markdown to HTML."""
    parts: list[SafeString] = []
    if incident.is_maintenance and incident.scheduled_for and incident.scheduled_until:
        parts.append(
            format_html(
                "<p>Scheduled from {} until {}</p>",
                _format_time(incident.scheduled_for),
                _format_time(incident.scheduled_until),
            )
        )
    if incident.postmortem_published_at:
        parts.append(
            format_html(
                "<h3>Postmortem</h3><p>{}</p>{}",
                _format_time(incident.postmortem_published_at),
                rendered[incident.postmortem_body],
            )
        )
    parts.append(
        format_html_join(
            "",
            "<h3>{}</h3><p>{}</p>{}",
            (
                (update.status_label, _format_time(update.display_at), rendered[update.body])
                for update in incident.updates.all()
            ),
        )
    )
    # Text stored before staff text was validated may hold characters XML cannot carry.
    html = strip_control_characters("".join(parts))
    return mark_safe(html)  # noqa: S308 - built with format_html, control characters removed


class AtomWithContent(feedgenerator.Atom1Feed):
    """Atom with the timeline in <content type="html"> (Django writes only a summary)."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content_html"], {"type": "html"})


class HistoryFeed(Feed):
    """The shared definition; HistoryAtomFeed and HistoryRssFeed pick the format."""

    feed_type: type[feedgenerator.SyndicationFeed] = feedgenerator.Rss201rev2Feed
    feed_path = "/history.rss"
    # Read-only: a POST gets 405, not a CSRF failure.
    csrf_exempt = True

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            return method_not_allowed(request)
        feed = super().__call__(request, *args, **kwargs)
        response = conditional_response(
            request,
            feed.content,
            content_type=feed["Content-Type"],
        )
        if feed.has_header("Last-Modified"):
            response["Last-Modified"] = feed["Last-Modified"]
        return response

    def title(self) -> str:
        return f"{current_page().name} status history"

    def link(self) -> str:
        return settings.SITE_URL + "/"

    def feed_url(self) -> str:
        return settings.SITE_URL + self.feed_path

    def description(self) -> str:
        return f"Incidents and scheduled maintenance of {current_page().name}."

    def items(self) -> list[Incident]:
        # Newest first by the incident's own time: an incident entered after the fact (or opened
        # with an earlier start) takes its place in the past, not at the top as published today.
        incidents = list(
            Incident.objects.public()
            .annotate(published_at=Least("created_at", "started_at"))
            .order_by("-published_at", "-id")
            .prefetch_related("updates")[:FEED_LENGTH]
        )
        texts = [u.body for i in incidents for u in i.updates.all()]
        texts += [i.postmortem_body for i in incidents if i.postmortem_published_at]
        rendered = render_markdown_many(texts)
        for incident in incidents:
            # Rendered once here for the description and the content of each item.
            incident.timeline_html = timeline_html(incident, rendered)  # type: ignore[attr-defined]
        return incidents

    def item_title(self, incident: Incident) -> str:
        return strip_control_characters(incident.name)

    def item_link(self, incident: Incident) -> str:
        return settings.SITE_URL + incident.get_absolute_url()

    def item_guid(self, incident: Incident) -> str:
        return self.item_link(incident)

    def item_guid_is_permalink(self, incident: Incident) -> bool:
        return True

    def item_description(self, incident: Incident) -> str:
        return incident.timeline_html  # type: ignore[attr-defined]  # set in items()

    def item_pubdate(self, incident: Incident) -> dt.datetime:
        published: dt.datetime = incident.published_at  # type: ignore[attr-defined]  # annotated in items()
        return published

    def item_updateddate(self, incident: Incident) -> dt.datetime:
        updated: dt.datetime = max(incident.updated_at, incident.published_at)  # type: ignore[attr-defined]  # annotated in items()
        return updated

    def item_categories(self, incident: Incident) -> list[str]:
        return [incident.get_kind_display()]

    def item_extra_kwargs(self, incident: Incident) -> dict[str, Any]:
        return {"content_html": incident.timeline_html}  # type: ignore[attr-defined]  # set in items()


@public_page()
class HistoryAtomFeed(HistoryFeed):
    feed_type = AtomWithContent
    feed_path = "/history.atom"

    def subtitle(self) -> str:
        return self.description()

    # Django leaves <summary> out for None, which django-stubs does not allow for.
    def item_description(self, incident: Incident) -> None:  # type: ignore[override]
        # The timeline goes in <content>; a copy in <summary> would only double the size.
        return None


@public_page()
class HistoryRssFeed(HistoryFeed):
    feed_type = feedgenerator.Rss201rev2Feed
    feed_path = "/history.rss"
