"""The uptime bars as HTML, built in Python: a large page prints thousands of days, too many
for a template loop (or even a template include per bar) to stay fast.

A day with incidents carries its popover (date, summary, links to the incidents). A day
without any is printed compact, its date and summary in `title` (the browser's own tooltip
without scripts; the page's script turns it into the same popover on hover, focus or tap).
Most days of most bars are quiet, and a quiet day reads the same in every bar, so all bars
share one row of quiet days and one of days without data, built once a day: a bar is that row
with its few recorded or incident days put in place. A compact day is as short as it can be:
an operational day carries no class (the stylesheet's default), and its date is its place in
the bar (the bar's first day is on the list, for the script's popover).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString, mark_safe

from statuspage.uptime import RECENT_DAYS, DayBar, UptimeBar

if TYPE_CHECKING:
    from website.selectors import IncidentLink


def _day_class(level: str) -> str:
    return "" if level == "operational" else f' class="level-{level}"'


def _compact_day_html(level: str, summary: str, label: str) -> str:
    return f'<li{_day_class(level)} tabindex="0" title="{label} · {_escaped(summary)}"></li>'


class _Window:
    """The texts of a window's days, and its rows of quiet days and of days without data."""

    def __init__(self, first_day: dt.date, count: int) -> None:
        dates = [first_day + dt.timedelta(days=offset) for offset in range(count)]
        self.iso_dates = [day.isoformat() for day in dates]
        self.labels = [f"{day:%b} {day.day}, {day.year}" for day in dates]
        quiet, no_data = DayBar(first_day, True), DayBar(first_day, False)
        self.quiet = [_compact_day_html(quiet.level, quiet.summary, label) for label in self.labels]
        self.no_data = [
            _compact_day_html(no_data.level, no_data.summary, label) for label in self.labels
        ]


# A window's texts only change when the day rolls over: every page rendered that day shares them.
@lru_cache(maxsize=4)
def _window(first_day: dt.date, count: int) -> _Window:
    return _Window(first_day, count)


@lru_cache(maxsize=256)
def _escaped(text: str) -> str:
    """Escapes the few texts that recur all over a page: day summaries and impacts."""
    return escape(text)


class UptimeBarRenderer:
    """Renders the bars of one page, sharing the incident links between them."""

    def __init__(self) -> None:
        self._links: dict[str, str] = {}

    def render(self, bar: UptimeBar) -> SafeString:
        """The whole bar: its days, labelled with the component's name, and its legend."""
        count = len(bar.dates)
        return mark_safe(  # noqa: S308 - every text below is escaped
            f'<div class="uptime"><ol class="uptime__days" data-first="{bar.dates[0].isoformat()}" '
            f'aria-label="{escape(bar.component.name)}, day by day over the past {count} days">'
            f"{self.render_days(bar)}</ol>"
            f'<p class="uptime__legend"><span class="uptime__edge" aria-hidden="true">'
            f'<span class="uptime__from-long">{count} days ago</span>'
            f'<span class="uptime__from-short">{RECENT_DAYS} days ago</span></span>'
            f'<span class="uptime__percent"><span class="uptime__from-long">{bar.uptime_display}'
            f'</span><span class="uptime__from-short">{bar.recent_uptime_display}</span></span>'
            f'<span class="uptime__edge" aria-hidden="true">Today</span></p></div>'
        )

    def render_days(self, bar: UptimeBar) -> str:
        """The bar's <li> days, oldest first."""
        window = _window(bar.dates[0], len(bar.dates))
        cut = bar.tracked_from
        parts = window.no_data[:cut] + window.quiet[cut:]
        for index in bar.recorded.keys() | bar.incidents.keys():
            parts[index] = self._day_html(
                bar.day(index), window.iso_dates[index], window.labels[index]
            )
        return "".join(parts)

    def _day_html(self, day: DayBar, iso_date: str, label: str) -> str:
        level, summary = day.level, day.summary
        if not day.incidents:
            return _compact_day_html(level, summary, label)
        items = "".join(self._link_html(link) for link in day.incidents)
        return (
            f'<li{_day_class(level)} tabindex="0"><div class="day__tip">'
            f'<time class="day__date" datetime="{iso_date}">{label}</time> '
            f'<span class="day__summary">{_escaped(summary)}</span>'
            f'<span class="visually-hidden">. Related:</span>'
            f'<ul class="day__incidents">{items}</ul></div></li>'
        )

    def _link_html(self, link: IncidentLink) -> str:
        html = self._links.get(link.url)
        if html is None:
            html = self._links[link.url] = (
                f'<li class="tone-{_escaped(link.impact)}"><a href="{escape(link.url)}">'
                f"{escape(link.name)}</a></li>"
            )
        return html
