"""Template tags of the public pages' uptime bars."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from statuspage.uptime import UptimeBar
from website.uptime_html import UptimeBarRenderer

register = template.Library()


def page_bar_renderer(context: template.Context) -> UptimeBarRenderer:
    """The renderer the bars of one page share (and so the snippets of their incident links),
    kept in the page's outermost context."""
    renderer = context.get("uptime_bar_renderer")
    if renderer is None:
        renderer = UptimeBarRenderer()
        context.dicts[0]["uptime_bar_renderer"] = renderer
    return renderer


@register.simple_tag(takes_context=True)
def uptime_bar(context: template.Context, bar: UptimeBar) -> SafeString:
    """An uptime bar with its legend."""
    return page_bar_renderer(context).render(bar)
