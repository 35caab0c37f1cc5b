"""Uptime: the one place for the downtime rule, the daily rollup and the 90-day bars.

Statuspage's rule: a day's downtime is the minutes in major outage plus 0.3 x the minutes in
partial outage; degraded performance and maintenance do not count. Uptime over a window is
1 - downtime / the time the component existed in it.

Closed stretches of a component's history (between two status changes) are rolled up into
`UptimeDay` rows by `rebuild_days`, which the status services call as each change is recorded.
The open stretch (from the last change until now) is added at read time from the component's
own `status` and `status_changed_at`, with no query.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from statuspage.models import Component, ComponentStatus, ComponentStatusChange, UptimeDay

PARTIAL_OUTAGE_WEIGHT = 0.3
DAY_SECONDS = 86400

_STATUS_FIELD: dict[str, str] = {
    ComponentStatus.MAJOR_OUTAGE: "major_outage_seconds",
    ComponentStatus.PARTIAL_OUTAGE: "partial_outage_seconds",
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded_seconds",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance_seconds",
}


def downtime_seconds(*, major_outage: float, partial_outage: float) -> float:
    return major_outage + PARTIAL_OUTAGE_WEIGHT * partial_outage


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the page's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def split_by_day(start: dt.datetime, end: dt.datetime) -> Iterator[tuple[dt.date, float]]:
    """Cut [start, end) at the page's midnights: (day, seconds) for each day it touches."""
    if end <= start:
        return
    day = timezone.localdate(start)
    cursor = start
    while cursor < end:
        next_midnight = day_start(day + dt.timedelta(days=1))
        piece_end = min(end, next_midnight)
        yield day, (piece_end - cursor).total_seconds()
        cursor = piece_end
        day += dt.timedelta(days=1)


def _tracked_from(component: Component) -> dt.datetime:
    if component.start_date:
        return day_start(component.start_date)
    return component.created_at


@transaction.atomic
def rebuild_days(component: Component, first_day: dt.date, last_day: dt.date) -> None:
    """Recompute the stored rollup of `component` for the days first_day..last_day (inclusive).

    Only closed stretches are stored: the stretch after the newest change stays open and is
    added at read time.
    """
    window_start = day_start(first_day)
    window_end = day_start(last_day + dt.timedelta(days=1))
    changes = list(
        ComponentStatusChange.objects.filter(
            component=component, changed_at__gte=window_start, changed_at__lt=window_end
        ).order_by("changed_at", "id")
    )
    following = (
        ComponentStatusChange.objects.filter(component=component, changed_at__gte=window_end)
        .order_by("changed_at", "id")
        .first()
    )
    stretches: list[tuple[dt.datetime, dt.datetime, str]] = []
    cursor = window_start
    for change in changes:
        stretches.append((cursor, change.changed_at, change.from_status))
        cursor = change.changed_at
    if following is not None:
        # The stretch after the last change in the window is closed by a later change.
        status = changes[-1].to_status if changes else following.from_status
        stretches.append((cursor, window_end, status))

    tracked_from = _tracked_from(component)
    totals: dict[dt.date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for start, end, status in stretches:
        column = _STATUS_FIELD.get(status)
        if column is None:
            continue
        for day, seconds in split_by_day(max(start, tracked_from), end):
            totals[day][column] += seconds

    UptimeDay.objects.filter(component=component, date__gte=first_day, date__lte=last_day).delete()
    UptimeDay.objects.bulk_create(
        [
            UptimeDay(component=component, date=day, **{k: round(v) for k, v in columns.items()})
            for day, columns in sorted(totals.items())
        ]
    )


@dataclass(slots=True)
class DayBar:
    """One day of one component's uptime bar."""

    date: dt.date
    tracked: bool
    major_outage_seconds: float = 0
    partial_outage_seconds: float = 0
    degraded_seconds: float = 0
    maintenance_seconds: float = 0
    incidents: list = field(default_factory=list)

    @property
    def downtime_seconds(self) -> float:
        return downtime_seconds(
            major_outage=self.major_outage_seconds, partial_outage=self.partial_outage_seconds
        )

    @property
    def is_quiet(self) -> bool:
        """Tracked, or not, with nothing at all recorded: most days of most bars."""
        return not (
            self.major_outage_seconds
            or self.partial_outage_seconds
            or self.degraded_seconds
            or self.maintenance_seconds
        )

    @property
    def level(self) -> str:
        """The bar's colour class, from the day's downtime."""
        if not self.tracked:
            return "nodata"
        if self.is_quiet:
            return "operational"
        minutes = self.downtime_seconds / 60
        if minutes >= 240:
            return "major"
        if minutes >= 30:
            return "partial"
        if minutes > 0:
            return "minor"
        if self.degraded_seconds > 0:
            return "degraded"
        if self.maintenance_seconds > 0:
            return "maintenance"
        return "operational"

    @property
    def summary(self) -> str:
        if not self.tracked:
            return "No data"
        if self.is_quiet:
            return "No downtime recorded"
        parts = []
        if self.major_outage_seconds:
            parts.append(f"Major outage {_duration(self.major_outage_seconds)}")
        if self.partial_outage_seconds:
            parts.append(f"Partial outage {_duration(self.partial_outage_seconds)}")
        if self.degraded_seconds:
            parts.append(f"Degraded performance {_duration(self.degraded_seconds)}")
        if self.maintenance_seconds:
            parts.append(f"Maintenance {_duration(self.maintenance_seconds)}")
        return ", ".join(parts) or "No downtime recorded"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass
class UptimeBar:
    """One component's bar: the window's days, of which most are quiet.

    Only the days with time recorded in a non-operational status are kept as `DayBar`s
    (`recorded`, by their index in `dates`); every other day from `tracked_from` on is a quiet
    operational day, and every day before it has no data. `incidents` holds, by index too, the
    links of the incidents that touched a day, filled in by the page that shows them.
    """

    component: Component
    dates: Sequence[dt.date]
    tracked_from: int
    recorded: dict[int, DayBar]
    uptime_percent: float | None
    incidents: dict[int, list] = field(default_factory=dict)
    # The same figure over the last RECENT_DAYS days only: what a phone shows of the bar.
    recent_uptime_percent: float | None = None

    @property
    def uptime_display(self) -> str:
        return _display(self.uptime_percent)

    @property
    def recent_uptime_display(self) -> str:
        return _display(self.recent_uptime_percent)

    def day(self, index: int) -> DayBar:
        """The day at `index`, quiet or not, with its incidents."""
        day = self.recorded.get(index) or DayBar(self.dates[index], index >= self.tracked_from)
        day.incidents = self.incidents.get(index, [])
        return day

    @property
    def days(self) -> list[DayBar]:
        return [self.day(index) for index in range(len(self.dates))]


def _display(percent: float | None) -> str:
    return "No data" if percent is None else f"{percent:.2f} % uptime"


_UPTIME_COLUMNS = (
    "component_id",
    "date",
    "major_outage_seconds",
    "partial_outage_seconds",
    "degraded_seconds",
    "maintenance_seconds",
)


RECENT_DAYS = 30


def _uptime_percent(days: Iterable[DayBar], since: dt.datetime, now: dt.datetime) -> float | None:
    """The uptime formula: the share of the time since `since` not spent down (None before)."""
    existed = (now - since).total_seconds()
    if existed <= 0:
        return None
    down = sum(day.downtime_seconds for day in days)
    return max(0.0, 100.0 * (1 - down / existed))


def uptime_bars(
    components: Iterable[Component],
    rows: QuerySet[UptimeDay],
    *,
    days: int = 90,
    now: dt.datetime | None = None,
) -> dict[int, UptimeBar]:
    """Build the bars of `components` from their stored rollup rows plus their open stretch.

    `rows` must select the components' `UptimeDay` rows for the window; they are read in one
    query of plain tuples. A day is touched only when something was recorded on it, so the
    cost follows the history, not the number of days shown.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - dt.timedelta(days=days - 1)
    window_start = day_start(first_day)
    dates = [first_day + dt.timedelta(days=offset) for offset in range(days)]

    stored: dict[int, list[tuple[int, int, int, int, int]]] = defaultdict(list)
    # In no order: each row has its own place in its bar, and the model's ordering would join
    # the components table to sort by their position for nothing.
    for component_id, date, major, partial, degraded, maintenance in rows.order_by().values_list(
        *_UPTIME_COLUMNS
    ):
        index = (date - first_day).days
        if 0 <= index < days and (major or partial or degraded or maintenance):
            stored[component_id].append((index, major, partial, degraded, maintenance))

    zone = timezone.get_current_timezone()
    bars: dict[int, UptimeBar] = {}
    for component in components:
        tracked_since = max(_tracked_from(component), window_start)
        if tracked_since <= now:
            tracked_from = (tracked_since.astimezone(zone).date() - first_day).days
        else:
            tracked_from = days
        recorded: dict[int, DayBar] = {}
        for index, major, partial, degraded, maintenance in stored.get(component.pk, ()):
            if index >= tracked_from:
                recorded[index] = DayBar(dates[index], True, major, partial, degraded, maintenance)
        column = _STATUS_FIELD.get(component.status)
        if column is not None:
            open_from = max(component.status_changed_at, tracked_since)
            for day, seconds in split_by_day(open_from, now):
                index = (day - first_day).days
                if 0 <= index < days:
                    bar = recorded.get(index)
                    if bar is None:
                        bar = recorded[index] = DayBar(dates[index], True)
                    setattr(bar, column, getattr(bar, column) + seconds)
        recent_from = max(0, days - RECENT_DAYS)
        recent_since = max(tracked_since, day_start(dates[recent_from]))
        bars[component.pk] = UptimeBar(
            component=component,
            dates=dates,
            tracked_from=tracked_from,
            recorded=recorded,
            uptime_percent=_uptime_percent(recorded.values(), tracked_since, now),
            recent_uptime_percent=_uptime_percent(
                (bar for index, bar in recorded.items() if index >= recent_from), recent_since, now
            ),
        )
    return bars
