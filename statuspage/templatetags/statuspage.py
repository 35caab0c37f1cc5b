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
