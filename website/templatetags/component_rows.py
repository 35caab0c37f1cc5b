"""Template tags of the home page's component list."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from website.components_html import component_row_html
from website.selectors import ComponentEntry
from website.templatetags.uptime_bars import page_bar_renderer

register = template.Library()


@register.simple_tag(takes_context=True)
def component_row(context: template.Context, entry: ComponentEntry) -> SafeString:
    """A component's row: name, description, status and uptime bar."""
    return component_row_html(entry, page_bar_renderer(context))
