"""Every concrete answer of the public views, for the publisher: which incidents, maintenances and
components have a page, and a fingerprint of what an incident's page shows, so a publication
re-renders only the incidents that changed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, QuerySet

from incidents.models import Incident
from statuspage.models import Component
from website.caching import Variant
from website.serializers import page_updated_at


def history_pages() -> Iterator[Variant]:
    """Page 1, 2, ... for as long as the history goes (the publisher stops at the first 404)."""
    for number in itertools.count(1):
        yield Variant(query={"page": str(number)} if number > 1 else {})


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
        yield Variant(kwargs=variant.kwargs, fingerprint=f"{variant.fingerprint}|{page}")


def public_incident_documents() -> Iterator[Variant]:
    """Every public incident's JSON document."""
    return _documents(Incident.objects.public().incidents())


def public_maintenance_documents() -> Iterator[Variant]:
    return _documents(Incident.objects.public().maintenances())


def public_components() -> Iterator[Variant]:
    for public_id in Component.objects.public().order_by("id").values_list("public_id", flat=True):
        yield Variant(kwargs={"public_id": public_id})
