"""Uptime of a component or a group over a range of days, by statuspage.uptime's rule."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident
from manage.errors import Invalid
from manage.http import Call, Json
from manage.views.components import find_component, find_group
from statuspage.models import Component, UptimeDay
from statuspage.uptime import UptimeBar, day_start, downtime_seconds, uptime_bars

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
MAX_DAYS = 366 * 5


def _partial_date(value: str, name: str, *, end: bool) -> dt.date:
    """2024, 2024-05 or 2024-05-03: the first day it names, or the last for an end."""
    match = _PARTIAL_DATE.match(value.strip())
    if match is None:
        raise Invalid(f"{name} must be a date: YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(part) if part else None for part in match.groups())
    try:
        if month is None:
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)  # type: ignore[arg-type]  # the pattern makes year
        if day is None:
            last = calendar.monthrange(year, month)[1]  # type: ignore[arg-type]  # idem
            return dt.date(year, month, last if end else 1)  # type: ignore[arg-type]  # idem
        return dt.date(year, month, day)  # type: ignore[arg-type]  # idem
    except ValueError:
        raise Invalid(f"{name} is not a date") from None


def _range(call: Call, since: dt.date) -> tuple[dt.date, dt.date, list[str]]:
    today = timezone.localdate()
    params = call.request.GET
    warnings = []
    start = _partial_date(params["start"], "start", end=False) if params.get("start") else None
    end = _partial_date(params["end"], "end", end=True) if params.get("end") else today
    if start is None:
        # The last 90 days, or the whole history when shorter (never a date before year 1).
        start = since if (end - since).days < 89 else end - dt.timedelta(days=89)
    if end > today:
        end = today
        warnings.append("end is in the future; the range ends today")
    if start < since:
        start = since
        warnings.append("start is before the component's history began; the range starts then")
    if start > end:
        raise Invalid("start must be before end")
    if (end - start).days >= MAX_DAYS:
        raise Invalid("the range is too long (at most five years)")
    return start, end, warnings


def _bars(components: list[Component], start: dt.date, end: dt.date) -> dict[int, UptimeBar]:
    days = (end - start).days + 1
    window_end = min(timezone.now(), day_start(end + dt.timedelta(days=1)))
    rows = UptimeDay.objects.filter(component__in=components, date__gte=start, date__lte=end)
    return uptime_bars(components, rows, days=days, now=window_end)


def _answer(
    *,
    public_id: str,
    name: str,
    start: dt.date,
    end: dt.date,
    bars: list[UptimeBar],
    warnings: list[str],
) -> Json:
    major = sum(b.major_outage_seconds for bar in bars for b in bar.recorded.values())
    partial = sum(b.partial_outage_seconds for bar in bars for b in bar.recorded.values())
    percents = [bar.uptime_percent for bar in bars if bar.uptime_percent is not None]
    window_start, window_end = day_start(start), day_start(end + dt.timedelta(days=1))
    related = dict(
        Incident.objects.filter(
            affected__component__in=[bar.component for bar in bars],
            started_at__lt=window_end,
        )
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=window_start))
        .order_by("started_at", "id")
        .values_list("public_id", "name")
        .distinct()
    )
    return {
        "id": public_id,
        "name": name,
        "range_start": start.isoformat(),
        "range_end": end.isoformat(),
        "uptime_percentage": round(sum(percents) / len(percents), 4) if percents else None,
        "major_outage": round(major),
        "partial_outage": round(partial),
        "downtime": round(downtime_seconds(major_outage=major, partial_outage=partial)),
        "warnings": warnings,
        "related_events": [{"id": i, "name": n} for i, n in related.items()],
    }


def component_uptime(call: Call) -> tuple[int, Json]:
    component = find_component(call.kwargs["component_id"])
    start, end, warnings = _range(call, component.tracked_since)
    bars = _bars([component], start, end)
    return 200, _answer(
        public_id=component.public_id,
        name=component.name,
        start=start,
        end=end,
        bars=list(bars.values()),
        warnings=warnings,
    )


def group_uptime(call: Call) -> tuple[int, Json]:
    group = find_group(call.kwargs["group_id"])
    components = list(Component.objects.filter(group=group))
    if not components:
        raise Invalid("the group has no components")
    since = min(c.tracked_since for c in components)
    start, end, warnings = _range(call, since)
    bars = _bars(components, start, end)
    return 200, _answer(
        public_id=group.public_id,
        name=group.name,
        start=start,
        end=end,
        bars=list(bars.values()),
        warnings=warnings,
    )
