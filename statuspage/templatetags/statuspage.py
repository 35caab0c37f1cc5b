"""Template filters for the public pages: markdown and times."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from statuspage.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.simple_tag
def timestamp(value: dt.datetime | None, style: str = "datetime") -> SafeString | str:
    """A <time> element in UTC; the page's script rewrites it in the visitor's own zone."""
    if value is None:
        return ""
    utc = value.astimezone(dt.UTC)
    if style == "time":
        text = utc.strftime("%H:%M UTC")
    elif style == "date":
        text = utc.strftime("%b %-d, %Y")
    else:
        text = utc.strftime("%b %-d, %Y %H:%M UTC")
    return format_html(
        '<time datetime="{}" data-style="{}">{}</time>',
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        style,
        text,
    )


@register.filter
def local_date(value: dt.datetime) -> dt.date:
    return timezone.localdate(value)


_ICON_GLYPHS = {
    "operational": "M4.6 8.3l2.2 2.2 4.6-4.8",
    "none": "M4.6 8.3l2.2 2.2 4.6-4.8",
    "degraded_performance": "M4.8 8h6.4",
    "minor": "M4.8 8h6.4",
    "partial_outage": "M8 4.4v4.3M8 11.3v.3",
    "major": "M8 4.4v4.3M8 11.3v.3",
    "major_outage": "M5.5 5.5l5 5M10.5 5.5l-5 5",
    "critical": "M5.5 5.5l5 5M10.5 5.5l-5 5",
}
_CLOCK_GLYPH = "M8 4.6V8l2.4 1.6"


def _icon(glyph: str) -> SafeString:
    return format_html(
        '<svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" '
        'focusable="false"><circle cx="8" cy="8" r="8"/><path class="icon__glyph" d="{}"/></svg>',
        glyph,
    )


# A page prints an icon per component: each is built once.
_ICONS = {tone: _icon(glyph) for tone, glyph in _ICON_GLYPHS.items()}
_CLOCK_ICON = _icon(_CLOCK_GLYPH)


@register.simple_tag
def status_icon(tone: str) -> SafeString:
    """The round status icon for a component status or an impact (a clock for maintenance)."""
    return _ICONS.get(tone, _CLOCK_ICON)
