"""The Prometheus metrics of /metrics, read from the database on every scrape.

Every value is a gauge of the present state (what is open, pending, late, old), so a scrape
costs a handful of queries and the web processes keep no counters of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from checker.models import CheckState
from incidents.models import Incident
from notifications.models import Delivery, DeliveryStatus
from statuspage.models import COMPONENT_STATUS_VALUES, Component, Heartbeat
from statuspage.version import public_version
from website.publishing import publication_status


def _seconds_between(earlier: dt.datetime, later: dt.datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


class StatusPageCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield self._component_status()
        yield GaugeMetricFamily(
            "statuspage_incidents_open",
            "Published incidents not yet resolved.",
            value=Incident.objects.public().unresolved().count(),
        )
        yield GaugeMetricFamily(
            "statuspage_maintenances_in_progress",
            "Published maintenances in progress or being verified.",
            value=Incident.objects.public().maintenance_active().count(),
        )
        yield self._deliveries()
        yield self._checker_lag(now)
        yield self._heartbeat_ages(now)
        yield GaugeMetricFamily(
            "statuspage_public_version_age_seconds",
            "Seconds since something visitors can see last changed.",
            value=max(0.0, now.timestamp() - public_version() / 1e9),
        )
        yield from self._publication()

    def _component_status(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "statuspage_component_status",
            "1 for the status each component is in, 0 for the others.",
            labels=["component", "component_id", "status"],
        )
        for public_id, name, current in Component.objects.values_list(
            "public_id", "name", "status"
        ).order_by("position", "name", "id"):
            for status in COMPONENT_STATUS_VALUES:
                family.add_metric([name, public_id, status], 1.0 if status == current else 0.0)
        return family

    def _deliveries(self) -> GaugeMetricFamily:
        counts = dict(
            Delivery.objects.order_by()
            .values_list("status")
            .annotate(count=Count("id"))
            .values_list("status", "count")
        )
        family = GaugeMetricFamily(
            "statuspage_deliveries",
            "Notification deliveries kept, by state (sent ones until they are pruned).",
            labels=["state"],
        )
        for state, _ in DeliveryStatus.choices:
            family.add_metric([state], counts.get(state, 0))
        return family

    def _checker_lag(self, now: dt.datetime) -> GaugeMetricFamily:
        # A tick claims the checks due before the next tick, so on time nothing due is left
        # unclaimed: the oldest due check's lateness is how far behind the checker runs.
        oldest = CheckState.objects.filter(owner__is_active=True, next_run_at__lte=now).aggregate(
            oldest=Min("next_run_at")
        )["oldest"]
        return GaugeMetricFamily(
            "statuspage_checker_lag_seconds",
            "Seconds the oldest due check is late (0 when none is).",
            value=0.0 if oldest is None else _seconds_between(oldest, now),
        )

    def _heartbeat_ages(self, now: dt.datetime) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "statuspage_heartbeat_age_seconds",
            "Seconds since each background process last beat (workers by queue; the checker).",
            labels=["kind", "name"],
        )
        for kind, name, seen in Heartbeat.objects.values_list("kind", "name", "last_seen_at"):
            family.add_metric([kind, name], _seconds_between(seen, now))
        return family

    def _publication(self) -> Iterator[Metric]:
        """The live publication's age and build time, where the site is published as files."""
        publication = publication_status()
        if publication is None:
            return
        yield GaugeMetricFamily(
            "statuspage_publish_age_seconds",
            "Seconds since the live publication of the site was published.",
            value=publication["age_seconds"],
        )
        yield GaugeMetricFamily(
            "statuspage_publish_duration_seconds",
            "Seconds the live publication took to build.",
            value=publication["duration_seconds"],
        )


def render(accept: str) -> tuple[bytes, str]:
    """The metrics in the exposition format the scraper asked for: (body, content type)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusPageCollector())
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
