"""Reads behind the public pages, each page in a fixed number of queries whatever the history.

The home page costs seven queries: groups, components, the uptime rollup rows, the incident
links shown in the uptime bars, the incidents it lists (open ones, maintenances and the last
seven days), their latest updates and their public affected components. None of these grows
with the number of incidents, updates or components.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from incidents.models import (
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Kind,
    MaintenanceStatus,
    UpdateComponentChange,
)
from statuspage.models import Component, ComponentGroup, ComponentStatus, UptimeDay
from statuspage.rollup import worst_component_status
from statuspage.uptime import RECENT_DAYS, UptimeBar, day_start, uptime_bars
from website.extensions import components_with_response_times
from website.serializers import page_status

UPTIME_DAYS = 90
PAST_INCIDENT_DAYS = 7
HISTORY_MONTHS_PER_PAGE = 3
COMPONENT_PAGE_INCIDENTS = 10

COMPONENT_STATUS_LABELS = dict(ComponentStatus.choices)


# Shapes handed to the templates.


@dataclass(frozen=True)
class AffectedComponent:
    component: Component
    status: str

    @property
    def status_label(self) -> str:
        return COMPONENT_STATUS_LABELS.get(self.status, self.status)


@dataclass
class IncidentSummary:
    """An incident or maintenance with what a list shows of it: its newest update and the
    public components it affects."""

    incident: Incident
    latest_update: IncidentUpdate | None
    components: list[AffectedComponent] = field(default_factory=list)
    # A running maintenance keeps its announcement (what will happen) beside its newest update.
    announcement: IncidentUpdate | None = None


@dataclass(frozen=True)
class IncidentLink:
    """An incident as listed in an uptime bar's day."""

    name: str
    url: str
    impact: str
    is_maintenance: bool


@dataclass
class ComponentEntry:
    component: Component
    url: str
    uptime: UptimeBar | None = None
    is_group = False

    @property
    def status_label(self) -> str:
        return COMPONENT_STATUS_LABELS.get(self.component.status, self.component.status)


@dataclass
class GroupEntry:
    group: ComponentGroup
    components: list[ComponentEntry]
    status: str
    is_group = True

    @property
    def status_label(self) -> str:
        return COMPONENT_STATUS_LABELS.get(self.status, self.status)


@dataclass
class PastDay:
    date: dt.date
    incidents: list[IncidentSummary]
    # Something that started this day is still open, shown above with the active ones.
    ongoing: bool = False


@dataclass
class HistoryMonth:
    first_day: dt.date
    incidents: list[HistoryEntry]


# Querysets shared by the pages.


def _latest_update_id() -> Subquery:
    """The newest update of the incident in the outer query, as a column of that query."""
    return Subquery(
        IncidentUpdate.objects.filter(incident=OuterRef("pk"))
        .order_by("-display_at", "-id")
        .values("pk")[:1]
    )


def _first_update_id() -> Subquery:
    """The first update of the incident in the outer query: a maintenance's announcement."""
    return Subquery(
        IncidentUpdate.objects.filter(incident=OuterRef("pk"))
        .order_by("display_at", "id")
        .values("pk")[:1]
    )


def _listed_incidents() -> QuerySet[Incident]:
    """Public incidents and maintenances, without the long postmortem text lists never show."""
    return Incident.objects.public().defer("postmortem_body")


def _not_upcoming(prefix: str = "") -> Q:
    """Leaves out maintenances that have not started: they belong to the future, not history.

    `prefix` reaches the incident through a relation, e.g. "incident__".
    """
    return ~Q(**{f"{prefix}kind": Kind.MAINTENANCE, f"{prefix}status": MaintenanceStatus.SCHEDULED})


# The home page.


def home_page_context(now: dt.datetime | None = None) -> dict[str, object]:
    now = now or timezone.now()
    today = timezone.localdate(now)

    groups = list(ComponentGroup.objects.public())
    components = list(Component.objects.public())
    by_pk = {c.pk: c for c in components}

    entries, shown = _component_entries(groups, components)
    showcased = [c for c in shown if c.showcase]
    first_day = today - dt.timedelta(days=UPTIME_DAYS - 1)
    rows = UptimeDay.objects.filter(
        component_id__in=[c.pk for c in showcased], date__gte=first_day, date__lte=today
    )
    bars = uptime_bars(showcased, rows, days=UPTIME_DAYS, now=now)
    _attach_bar_incidents(bars, first_day=first_day, now=now)
    for entry in _flatten(entries):
        entry.uptime = bars.get(entry.component.pk)

    past_since = day_start(today - dt.timedelta(days=PAST_INCIDENT_DAYS - 1))
    listed = _home_incidents(by_pk, order=[c.pk for c in shown], since=past_since, now=now)
    active = [s for s in listed if s.incident.kind == Kind.INCIDENT and s.incident.is_open]
    running = [s for s in listed if s.incident.kind == Kind.MAINTENANCE and s.incident.is_open]
    upcoming = sorted(
        (s for s in listed if s.incident.status == MaintenanceStatus.SCHEDULED),
        key=lambda s: (s.incident.scheduled_for, s.incident.pk),
    )
    # What is still open is shown once, in its own section above, not again under its day.
    started = [
        s
        for s in listed
        if s.incident.status != MaintenanceStatus.SCHEDULED
        and past_since <= s.incident.started_at <= now
    ]
    past = [s for s in started if not s.incident.is_open]
    ongoing_days = {
        timezone.localdate(s.incident.started_at) for s in started if s.incident.is_open
    }

    status = page_status(components=components, unresolved_incidents=[s.incident for s in active])
    return {
        "page_status": status,
        "active_incidents": active,
        "running_maintenances": running,
        "upcoming_maintenances": upcoming,
        "component_entries": entries,
        "past_days": _past_days(past, today=today, ongoing=ongoing_days),
        "uptime_days": UPTIME_DAYS,
        "recent_uptime_days": RECENT_DAYS,
    }


def _component_entries(
    groups: Sequence[ComponentGroup], components: Sequence[Component]
) -> tuple[list[GroupEntry | ComponentEntry], list[Component]]:
    """Groups and ungrouped components in page order, and the components actually shown.

    A component that only shows when degraded is left out while it is operational; a group
    left with nothing to show is left out too.
    """
    children: dict[int, list[Component]] = defaultdict(list)
    loose: list[Component] = []
    for component in components:
        if component.group_id is None:
            loose.append(component)
        else:
            children[component.group_id].append(component)

    def visible(component: Component) -> bool:
        return not (
            component.only_show_if_degraded and component.status == ComponentStatus.OPERATIONAL
        )

    # Every row links to its component's page: resolve the pattern once, not per row.
    url_pattern = reverse("component", kwargs={"public_id": "public-id"})

    def entry(component: Component) -> ComponentEntry:
        return ComponentEntry(component, url_pattern.replace("public-id", component.public_id))

    keyed: list[tuple[tuple[int, str, int], GroupEntry | ComponentEntry]] = []
    for group in groups:
        members = children.get(group.pk, [])
        shown = [entry(c) for c in members if visible(c)]
        if shown:
            status = worst_component_status(c.status for c in members)
            keyed.append(((group.position, group.name, group.pk), GroupEntry(group, shown, status)))
    for component in loose:
        if visible(component):
            keyed.append(((component.position, component.name, component.pk), entry(component)))
    keyed.sort(key=lambda pair: pair[0])
    entries = [entry for _, entry in keyed]
    return entries, [e.component for e in _flatten(entries)]


def _flatten(entries: Iterable[GroupEntry | ComponentEntry]) -> list[ComponentEntry]:
    flat: list[ComponentEntry] = []
    for entry in entries:
        if isinstance(entry, GroupEntry):
            flat.extend(entry.components)
        else:
            flat.append(entry)
    return flat


def _home_incidents(
    by_pk: dict[int, Component], *, order: list[int], since: dt.datetime, now: dt.datetime
) -> list[IncidentSummary]:
    """In three queries: the unresolved incidents, the running and upcoming maintenances, and
    everything that started since `since`, newest first; their latest updates; the public
    components they affect.

    The two reads after the first take plain ids and tuples: a page of a dozen incidents
    spends more building prefetches than running them.
    """
    position = {pk: i for i, pk in enumerate(order)}
    everything = Incident.objects.all()
    incidents = list(
        (
            everything.open()
            | everything.maintenance_upcoming()
            | everything.filter(_not_upcoming(), started_at__gte=since, started_at__lte=now)
        )
        .public()
        .defer("postmortem_body")
        .annotate(latest_update_id=_latest_update_id(), first_update_id=_first_update_id())
        .order_by("-started_at", "-id")
    )
    if not incidents:
        return []
    # The newest update of each, and the announcement of each running maintenance.
    wanted = {i.latest_update_id for i in incidents}  # type: ignore[attr-defined]  # annotated above
    wanted |= {i.first_update_id for i in incidents if i.is_maintenance and i.is_open}  # type: ignore[attr-defined]  # annotated above
    updates = IncidentUpdate.objects.in_bulk([pk for pk in wanted if pk is not None])
    # Each incident's public components, in page order.
    affected: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    links = IncidentComponent.objects.filter(incident_id__in=[i.pk for i in incidents])
    for incident_id, component_id, status in links.values_list(
        "incident_id", "component_id", "status"
    ):
        if component_id in by_pk:
            rank = position.get(component_id, len(position))
            affected[incident_id].append((rank, component_id, status))
    summaries = []
    for incident in incidents:
        components = [
            AffectedComponent(by_pk[component_id], status)
            for _, component_id, status in sorted(affected.get(incident.pk, []))
        ]
        summaries.append(
            IncidentSummary(
                incident=incident,
                latest_update=updates.get(incident.latest_update_id),  # type: ignore[attr-defined]  # as above
                components=components,
                announcement=(
                    updates.get(incident.first_update_id)  # type: ignore[attr-defined]  # as above
                    if incident.is_maintenance
                    and incident.is_open
                    and incident.first_update_id != incident.latest_update_id  # type: ignore[attr-defined]  # as above
                    else None
                ),
            )
        )
    return summaries


def _attach_bar_incidents(
    bars: dict[int, UptimeBar], *, first_day: dt.date, now: dt.datetime
) -> None:
    """Fill each bar's `incidents` with the public incidents and maintenances that touched the
    component on each day, in one query of narrow rows.

    Several bars must be those of public showcased components, the only ones a page of bars
    shows; a single bar may be any component's.
    """
    if not bars:
        return
    window_start = day_start(first_day)
    if len(bars) == 1:
        # One component's bar: its own incidents, found through its index.
        components = Q(component_id__in=list(bars))
    else:
        # A page of bars: the public showcased components, matched by a join and those not
        # shown skipped below. A list of their ids would lead SQLite in through the component
        # index, to every incident the components ever had instead of the window's.
        components = Q(component__is_public=True, component__showcase=True)
    rows = (
        IncidentComponent.objects.filter(
            components,
            _not_upcoming("incident__"),
            incident__is_draft=False,
            incident__started_at__lte=now,
        )
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gte=window_start))
        .order_by("incident__started_at", "incident_id")
        .values_list(
            "component_id",
            "incident__public_id",
            "incident__name",
            "incident__impact",
            "incident__kind",
            "incident__started_at",
            "incident__resolved_at",
        )
    )
    # Hundreds of rows: resolve the URL pattern and the page's zone once, not per row, and
    # each incident's link and days once, however many components it touched.
    url_pattern = reverse("incident", kwargs={"public_id": "public-id"})
    zone = timezone.get_current_timezone()
    last_index = (timezone.localdate(now) - first_day).days
    spans: dict[str, tuple[IncidentLink, range]] = {}
    for component_id, public_id, name, impact, kind, started_at, resolved_at in rows:
        bar = bars.get(component_id)
        if bar is None:
            continue
        span = spans.get(public_id)
        if span is None:
            link = IncidentLink(
                name=name,
                url=url_pattern.replace("public-id", public_id),
                impact=impact,
                is_maintenance=kind == Kind.MAINTENANCE,
            )
            first = (max(started_at, window_start).astimezone(zone).date() - first_day).days
            last = (min(resolved_at or now, now).astimezone(zone).date() - first_day).days
            span = spans[public_id] = (link, range(max(first, 0), min(last, last_index) + 1))
        link, indexes = span
        incidents = bar.incidents
        for index in indexes:
            if index in incidents:
                incidents[index].append(link)
            else:
                incidents[index] = [link]


def _past_days(
    summaries: Iterable[IncidentSummary], *, today: dt.date, ongoing: set[dt.date]
) -> list[PastDay]:
    """The last days, newest first, each with the closed incidents that started on it."""
    by_day: dict[dt.date, list[IncidentSummary]] = defaultdict(list)
    for summary in summaries:
        by_day[timezone.localdate(summary.incident.started_at)].append(summary)
    return [
        PastDay(date=day, incidents=by_day.get(day, []), ongoing=day in ongoing)
        for day in (today - dt.timedelta(days=n) for n in range(PAST_INCIDENT_DAYS))
    ]


# The incident page.


def incident_page_context(public_id: str) -> dict[str, object] | None:
    """An incident or maintenance with its whole timeline; None when unknown or a draft."""
    incident = Incident.objects.public().filter(public_id=public_id).first()
    if incident is None:
        return None
    return {
        "incident": incident,
        "updates": list(incident.updates.all()),
        "affected_components": _incident_components(incident),
    }


def _incident_components(incident: Incident) -> list[AffectedComponent]:
    """The public components an incident affects, with the status it gives them while open, or
    the worst status they reached once it is over."""
    links = list(
        IncidentComponent.objects.filter(
            incident=incident, component__in=Component.objects.public()
        ).select_related("component", "component__group")
    )
    if incident.is_open or not links:
        statuses = {link.component_id: [link.status] for link in links}
    else:
        statuses = defaultdict(list)
        changes = UpdateComponentChange.objects.filter(
            update__incident=incident, component_id__in=[link.component_id for link in links]
        ).values_list("component_id", "old_status", "new_status")
        for component_id, old_status, new_status in changes:
            statuses[component_id].append(new_status)
            if incident.backfilled:
                # A backfilled incident records the past status as each change's old status.
                statuses[component_id].append(old_status)
    links.sort(
        key=lambda link: (
            link.component.group.position if link.component.group else link.component.position,
            link.component.group_id or 0,
            link.component.position,
            link.component.name,
        )
    )
    return [
        AffectedComponent(
            link.component, worst_component_status(statuses.get(link.component_id, []))
        )
        for link in links
    ]


# A component's page.


def component_page_context(
    public_id: str, *, now: dt.datetime | None = None
) -> dict[str, object] | None:
    """A public component with its 90-day bar and the latest incidents that affected it."""
    now = now or timezone.now()
    component = (
        Component.objects.public().select_related("group").filter(public_id=public_id).first()
    )
    if component is None:
        return None
    today = timezone.localdate(now)
    first_day = today - dt.timedelta(days=UPTIME_DAYS - 1)
    rows = UptimeDay.objects.filter(component=component, date__gte=first_day, date__lte=today)
    bars = uptime_bars([component], rows, days=UPTIME_DAYS, now=now)
    _attach_bar_incidents(bars, first_day=first_day, now=now)
    recent = (
        _listed_incidents()
        .filter(_not_upcoming(), affected__component=component)
        .order_by("-started_at", "-id")[:COMPONENT_PAGE_INCIDENTS]
    )
    return {
        "component": component,
        "uptime": bars[component.pk],
        "recent_incidents": list(recent),
        "uptime_days": UPTIME_DAYS,
        "recent_uptime_days": RECENT_DAYS,
        "has_response_times": component.pk in components_with_response_times([component.pk]),
    }


# The history page.


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after (or before, if negative) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass
class HistoryEntry:
    """An incident as the history lists it: its newest update (for the excerpt) and the ids of
    the public components it affected (for the component filter)."""

    incident: Incident
    latest_update: IncidentUpdate | None
    component_ids: list[str]


@dataclass(frozen=True)
class HistoryYear:
    year: int
    page: int
    # The year's newest month with incidents, the anchor to land on.
    first_day: dt.date


def _history_months() -> list[dt.date]:
    """The months that have incidents or maintenances, newest first (one query)."""
    rows = (
        _listed_incidents()
        .filter(_not_upcoming())
        .annotate(month=TruncMonth("started_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("month", flat=True)
        .distinct()
    )
    months = {timezone.localtime(m).date() if isinstance(m, dt.datetime) else m for m in rows}
    return sorted(months, reverse=True)


def history_page_count() -> int:
    """How many pages the history has (at least one, which may say there is nothing)."""
    months = len(_history_months())
    return max(1, -(-months // HISTORY_MONTHS_PER_PAGE))


def history_page_context(*, page: int) -> dict[str, object] | None:
    """Months that had incidents or maintenances, newest first, a few months a page; empty
    months are skipped. Each page offers a jump to every year and lists the public components
    to filter by. None past the last page (page 1 always exists).

    Five queries whatever the history: the months, the page's incidents, their newest updates,
    their public components, and the public components.
    """
    months = _history_months()
    pages = [
        months[start : start + HISTORY_MONTHS_PER_PAGE]
        for start in range(0, len(months), HISTORY_MONTHS_PER_PAGE)
    ] or [[]]
    if page > len(pages):
        return None
    shown = pages[page - 1]
    years: dict[int, HistoryYear] = {}
    for number, chunk in enumerate(pages, start=1):
        for month in chunk:
            years.setdefault(month.year, HistoryYear(month.year, number, month))
    by_month: dict[dt.date, list[HistoryEntry]] = defaultdict(list)
    if shown:
        incidents = list(
            _listed_incidents()
            .filter(_not_upcoming())
            .filter(
                started_at__gte=day_start(shown[-1]),
                started_at__lt=day_start(_add_months(shown[0], 1)),
            )
            .annotate(latest_update_id=_latest_update_id())
            .order_by("-started_at", "-id")
        )
        updates = IncidentUpdate.objects.in_bulk(
            [i.latest_update_id for i in incidents if i.latest_update_id]
        )
        affected: dict[int, list[str]] = defaultdict(list)
        for incident_id, public_id in (
            IncidentComponent.objects.filter(
                incident__in=[i.pk for i in incidents], component__is_public=True
            )
            .order_by("component__position", "component__name")
            .values_list("incident_id", "component__public_id")
        ):
            affected[incident_id].append(public_id)
        for incident in incidents:
            by_month[timezone.localdate(incident.started_at).replace(day=1)].append(
                HistoryEntry(
                    incident=incident,
                    latest_update=updates.get(incident.latest_update_id),
                    component_ids=affected[incident.pk],
                )
            )
    return {
        "months": [HistoryMonth(first_day=m, incidents=by_month[m]) for m in shown],
        "years": sorted(years.values(), key=lambda y: -y.year),
        "filter_components": list(
            Component.objects.public()
            .select_related("group")
            .order_by("group__position", "group__name", "position", "name")
        ),
        "page_number": page,
        "newer_page": page - 1 if page > 1 else None,
        "older_page": page + 1 if page < len(pages) else None,
    }
