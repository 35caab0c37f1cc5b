"""Every concrete answer of the public views, for the publisher: which incidents, maintenances and
components have a page, and a fingerprint of what an incident's page shows, so a publication
re-renders only the incidents that changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from incidents.models import Incident, IncidentComponent
from statuspage.models import Component, ComponentStatus, UptimeDay
from website.caching import Variant
from website.extensions import components_with_response_times
from website.selectors import (
    HISTORY_MONTHS_PER_PAGE,
    UPTIME_DAYS,
    _history_months,
    _not_upcoming,
)
from website.serializers import page_updated_at


def history_pages() -> Iterator[Variant]:
    """Page 1, 2, ... of the history, each with a fingerprint of what it shows: the months every
    page lists (for the jump to a year) and the page's incidents as their own pages show them.
    The public components the filter offers are part of every page's frame."""
    months = _history_months()
    per_page = HISTORY_MONTHS_PER_PAGE
    pages = [months[start : start + per_page] for start in range(0, len(months), per_page)]
    page_of = {month: number for number, chunk in enumerate(pages, start=1) for month in chunk}
    listed: dict[int, list[str]] = {number: [] for number in range(1, len(pages) + 1)}
    rows = (
        Incident.objects.public()
        .filter(_not_upcoming())
        .annotate(last_update=Max("updates__updated_at"), update_count=Count("updates"))
        .order_by("id")
        .values_list("id", "started_at", "updated_at", "last_update", "update_count")
    )
    for pk, started_at, updated_at, last_update, update_count in rows:
        number = page_of.get(timezone.localdate(started_at).replace(day=1))
        if number is not None:
            listed[number].append(f"{pk}|{started_at}|{updated_at}|{last_update}|{update_count}")
    frame = hashlib.blake2b(repr(months).encode(), digest_size=8).hexdigest()
    for number in range(1, max(1, len(pages)) + 1):
        digest = hashlib.blake2b(digest_size=16)
        digest.update(frame.encode())
        digest.update("\n".join(listed.get(number, ())).encode())
        yield Variant(
            query={"page": str(number)} if number > 1 else {}, fingerprint=digest.hexdigest()
        )


def _incident_variants(incidents: QuerySet[Incident]) -> Iterator[Variant]:
    rows = (
        incidents.annotate(last_update=Max("updates__updated_at"), update_count=Count("updates"))
        .order_by("id")
        .values_list("public_id", "updated_at", "last_update", "update_count")
    )
    for public_id, updated_at, last_update, update_count in rows:
        fingerprint = f"{updated_at.isoformat()}|{last_update}|{update_count}"
        yield Variant(kwargs={"public_id": public_id}, fingerprint=fingerprint)


def public_incident_pages() -> Iterator[Variant]:
    """Every public incident and maintenance (both have a page under /incidents/)."""
    return _incident_variants(Incident.objects.public())


# Per published folder: the page's `updated_at` that documents of unchanged incidents were last
# rendered with, and when.
_page_stamps: dict[str, tuple[str, float]] = {}


def _documents(incidents: QuerySet[Incident]) -> Iterator[Variant]:
    # A document also carries the page's `updated_at`, which any public change moves: the
    # documents of incidents that did not change take the new one once a publication interval,
    # not on every change (rewriting thousands of files each time), so it is never further
    # behind than the published site's freshness promise. A changed incident's document is
    # rendered at once, with the current one.
    folder = str(settings.PUBLISH_ROOT)
    now = time.monotonic()
    stamp = _page_stamps.get(folder)
    if stamp is None or now - stamp[1] >= settings.PUBLISH_INTERVAL_SECONDS:
        stamp = _page_stamps[folder] = (str(page_updated_at()), now)
    page = stamp[0]
    for variant in _incident_variants(incidents):
        yield Variant(kwargs=variant.kwargs, fingerprint=variant.fingerprint, stamp=page)


def public_incident_documents() -> Iterator[Variant]:
    """Every public incident's JSON document."""
    return _documents(Incident.objects.public().incidents())


def public_maintenance_documents() -> Iterator[Variant]:
    return _documents(Incident.objects.public().maintenances())


def public_components() -> Iterator[Variant]:
    """Every public component's page, with a fingerprint of what the page shows: the component
    itself, its stored uptime days in the window, the incidents that affected it and whether it
    has response times to chart.

    A page whose figures move with the clock alone (an open outage lengthens today's bar; any
    downtime in the window makes the percentage drift as the window slides; an open or upcoming
    incident will change state) also carries the current publication interval, so it is redone
    once an interval and not on every change elsewhere on the page.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today - dt.timedelta(days=UPTIME_DAYS - 1)
    components = list(
        Component.objects.public()
        .order_by("id")
        .values_list("id", "public_id", "status", "status_changed_at", "updated_at")
    )
    days = {
        row[0]: row[1:]
        for row in UptimeDay.objects.filter(date__gte=first_day, date__lte=today)
        .values("component_id")
        .annotate(
            days=Count("id"),
            major=Sum("major_outage_seconds"),
            partial=Sum("partial_outage_seconds"),
            degraded=Sum("degraded_seconds"),
            maintenance=Sum("maintenance_seconds"),
        )
        .values_list("component_id", "days", "major", "partial", "degraded", "maintenance")
    }
    affected = {
        row[0]: row[1:]
        for row in IncidentComponent.objects.values("component_id")
        .annotate(
            count=Count("id"),
            public=Count("id", filter=Q(incident__is_draft=False)),
            unresolved=Count("id", filter=Q(incident__resolved_at__isnull=True)),
            latest=Max("incident__updated_at"),
        )
        .values_list("component_id", "count", "public", "unresolved", "latest")
    }
    charted = components_with_response_times(row[0] for row in components)
    # An interval of 0 (tests) renders every moving page on every publication.
    interval = time.time_ns() // max(1, settings.PUBLISH_INTERVAL_SECONDS * 10**9)
    for pk, public_id, status, changed_at, updated_at in components:
        stored = days.get(pk)
        incidents = affected.get(pk)
        moving = (
            status != ComponentStatus.OPERATIONAL
            or (stored is not None and any(stored[1:]))
            or (incidents is not None and incidents[2] > 0)
        )
        fingerprint = "|".join(
            str(part)
            for part in (
                today,
                status,
                changed_at.isoformat(),
                updated_at.isoformat(),
                stored,
                incidents,
                pk in charted,
                interval if moving else "",
            )
        )
        yield Variant(kwargs={"public_id": public_id}, fingerprint=fingerprint)


def public_component_badges() -> Iterator[Variant]:
    """A component's badge shows its name (part of every page's frame) and its status."""
    rows = Component.objects.public().order_by("id").values_list("public_id", "status")
    for public_id, status in rows:
        yield Variant(kwargs={"public_id": public_id}, fingerprint=status)
