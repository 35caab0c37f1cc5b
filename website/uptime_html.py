"""The days of an uptime bar as HTML, built in Python: a large page prints thousands of days,
too many for a template loop to stay fast.

A day with incidents carries its popover (date, summary, links to the incidents). A day
without any is printed compact, its date and summary in `title` (the browser's own tooltip
without scripts; the page's script turns it into the same popover on hover, focus or tap),
from one snippet per date, level and summary shared by every component on the page. A large
page holds thousands of such days, so this halves its size and its number of elements.
"""

from __future__ import annotations

import datetime as dt

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from statuspage.uptime import DayBar, UptimeBar


def _date_texts(day: dt.date) -> tuple[str, str]:
    return day.isoformat(), f"{day:%b} {day.day}, {day.year}"


def _plain_day_html(day: DayBar, iso_date: str, label: str) -> str:
    return (
        f'<li class="day level-{day.level}" tabindex="0" data-date="{iso_date}" '
        f'title="{label} · {escape(day.summary)}"></li>'
    )


def _day_html(day: DayBar, iso_date: str, label: str) -> str:
    incidents = ""
    if day.incidents:
        items = "".join(
            f'<li class="tone-{escape(link.impact)}"><a href="{escape(link.url)}">'
            f"{escape(link.name)}</a></li>"
            for link in day.incidents
        )
        related = '<span class="visually-hidden">. Related:</span>'
        incidents = f'{related}<ul class="day__incidents">{items}</ul>'
    return (
        f'<li class="day level-{day.level}" tabindex="0"><div class="day__tip">'
        f'<time class="day__date" datetime="{iso_date}">{label}</time> '
        f'<span class="day__summary">{escape(day.summary)}</span>{incidents}</div></li>'
    )


class UptimeDaysRenderer:
    """Renders the bars of one page, sharing the snippets of plain days between them."""

    def __init__(self) -> None:
        self._dates: dict[dt.date, tuple[str, str]] = {}
        self._plain: dict[tuple[dt.date, str, str], str] = {}

    def render(self, bar: UptimeBar) -> SafeString:
        parts = []
        for day in bar.days:
            texts = self._dates.get(day.date)
            if texts is None:
                texts = self._dates[day.date] = _date_texts(day.date)
            if day.incidents:
                parts.append(_day_html(day, *texts))
                continue
            level, summary = day.level, day.summary
            key = (day.date, level, summary)
            html = self._plain.get(key)
            if html is None:
                html = self._plain[key] = _plain_day_html(day, *texts)
            parts.append(html)
        return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
