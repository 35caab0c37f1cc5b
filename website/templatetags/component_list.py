"""Template tags of the home page's component list."""

from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.utils.safestring import SafeString

from website.components_html import component_list_html
from website.selectors import ComponentEntry, GroupEntry
from website.templatetags.uptime_bars import page_bar_renderer

register = template.Library()


@register.simple_tag(takes_context=True)
def component_list(
    context: template.Context, entries: Sequence[GroupEntry | ComponentEntry]
) -> SafeString:
    """The groups and components of the page with their statuses and uptime bars."""
    return component_list_html(entries, page_bar_renderer(context))
