"""Template tags of the public pages' uptime bars."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from statuspage.uptime import UptimeBar
from website.uptime_html import UptimeDaysRenderer

register = template.Library()


@register.simple_tag(takes_context=True)
def uptime_days(context: template.Context, bar: UptimeBar) -> SafeString:
    """The <li> days of an uptime bar. The bars of one page share one renderer (and so the
    snippets of their plain days), kept in the page's outermost context."""
    renderer = context.get("uptime_days_renderer")
    if renderer is None:
        renderer = UptimeDaysRenderer()
        context.dicts[0]["uptime_days_renderer"] = renderer
    return renderer.render(bar)
