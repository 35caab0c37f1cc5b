"""The home page's component list as HTML, built in Python: a large page lists dozens of
components, and Django's template engine spends more on a row's dozen lookups and tags, and
on copying the bars through every level of nested tags, than on everything else the page
prints but the bars themselves.

The list holds groups and the components in no group, in page order. A group is its name (with
its description), its children's count, its worst status and its rows, folded when the group
is collapsed. A row is the component's name (linked to its page, with its description as a
hint), its status and, if it is showcased, its uptime bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from statuspage.templatetags.statuspage import status_icon
from website.selectors import ComponentEntry, GroupEntry
from website.uptime_html import UptimeBarRenderer

_HINT_ICON = (
    '<svg class="hint__icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" '
    'focusable="false"><circle cx="8" cy="8" r="7"/><path d="M8 7.2v4M8 4.6v.2"/></svg>'
)


def component_list_html(
    entries: Sequence[GroupEntry | ComponentEntry], bars: UptimeBarRenderer
) -> SafeString:
    """The <ul> of the list; `bars` is the page's renderer of uptime bars."""
    items = [
        _group_html(entry, bars) if isinstance(entry, GroupEntry) else _component_html(entry, bars)
        for entry in entries
    ]
    return mark_safe(f'<ul class="components">{"".join(items)}</ul>')  # noqa: S308 - escaped


def _group_html(entry: GroupEntry, bars: UptimeBarRenderer) -> str:
    group = entry.group
    title = description = ""
    if group.description:
        text = escape(group.description)
        title = f' title="{text}"'
        description = f'<p class="group__description muted small">{text}</p>'
    rows = "".join([_component_html(child, bars) for child in entry.components])
    return (
        f'<li class="group" id="group-{escape(group.public_id)}">'
        f"<details{'' if group.collapsed else ' open'}>"
        f'<summary class="group__summary"><span class="group__name"{title}>{escape(group.name)} '
        f'<span class="group__count muted">({len(entry.components)})</span></span> '
        f'<span class="status tone-{escape(entry.status)}">{status_icon(entry.status)}'
        f"{escape(entry.status_label)}</span></summary>{description}"
        f'<ul class="components components--nested">{rows}</ul></details></li>\n'
    )


def _component_html(entry: ComponentEntry, bars: UptimeBarRenderer) -> str:
    component = entry.component
    hint = ""
    if component.description:
        text = escape(component.description)
        hint = (
            f' <span class="hint" tabindex="0" title="{text}">{_HINT_ICON}'
            f'<span class="hint__text">{text}</span></span>'
        )
    bar = bars.render(entry.uptime) if entry.uptime else ""
    return (
        f'<li class="component" id="component-{escape(component.public_id)}">'
        f'<div class="component__row"><span class="component__name">'
        f'<a class="component__link" href="{escape(entry.url)}">{escape(component.name)}</a>'
        f'{hint}</span> <span class="status tone-{escape(component.status)}">'
        f"{status_icon(component.status)}{escape(entry.status_label)}</span></div>{bar}</li>\n"
    )
