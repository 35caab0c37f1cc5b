"""The rows of the home page's component list as HTML, built in Python: a large page lists
dozens of components, and Django's template engine spends more on a row's dozen lookups and
tags than on everything else the page prints but the bars themselves.

A row is the component's name (linked to its page, with its description as a hint), its status
and, if it is showcased, its uptime bar.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString, mark_safe

from statuspage.templatetags.statuspage import status_icon
from website.uptime_html import UptimeBarRenderer

if TYPE_CHECKING:
    from website.selectors import ComponentEntry

_HINT_ICON = (
    '<svg class="hint__icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" '
    'focusable="false"><circle cx="8" cy="8" r="7"/><path d="M8 7.2v4M8 4.6v.2"/></svg>'
)


def component_row_html(entry: ComponentEntry, bars: UptimeBarRenderer) -> SafeString:
    """One <li> of the list; `bars` is the page's renderer of uptime bars."""
    component = entry.component
    hint = ""
    if component.description:
        description = escape(component.description)
        hint = (
            f' <span class="hint" tabindex="0" title="{description}">{_HINT_ICON}'
            f'<span class="hint__text">{description}</span></span>'
        )
    status = escape(component.status)
    bar = bars.render(entry.uptime) if entry.uptime else ""
    return mark_safe(  # noqa: S308 - every text below is escaped
        f'<li class="component" id="component-{escape(component.public_id)}">'
        f'<div class="component__row"><span class="component__name">'
        f'<a class="component__link" href="{escape(entry.url)}">{escape(component.name)}</a>'
        f'{hint}</span> <span class="status tone-{status}">{status_icon(component.status)}'
        f"{escape(entry.status_label)}</span></div>{bar}</li>\n"
    )
