"""Small factory functions for tests: build real rows through the models and services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from incidents import services
from incidents.models import Incident
from statuspage.models import Component, ComponentGroup

_counter = itertools.count(1)


def make_group(name: str | None = None, **fields: object) -> ComponentGroup:
    return ComponentGroup.objects.create(name=name or f"Group {next(_counter)}", **fields)


def make_component(name: str | None = None, **fields: object) -> Component:
    fields.setdefault("created_at", timezone.now() - dt.timedelta(days=120))
    return Component.objects.create(name=name or f"Component {next(_counter)}", **fields)


def make_incident(
    name: str = "Elevated API errors",
    *,
    impact: str = "major",
    body: str = "We are investigating elevated error rates.",
    components: dict[Component, str] | None = None,
    **kwargs: Any,
) -> Incident:
    return services.incident_open(
        name=name, impact=impact, body=body, component_statuses=components or {}, **kwargs
    )


def make_maintenance(
    name: str = "Database upgrade",
    *,
    starts_in: dt.timedelta = dt.timedelta(days=2),
    lasts: dt.timedelta = dt.timedelta(hours=2),
    components: list[Component] | None = None,
    **kwargs: Any,
) -> Incident:
    start = timezone.now() + starts_in
    return services.maintenance_schedule(
        name=name,
        body="We will upgrade the primary database.",
        scheduled_for=start,
        scheduled_until=start + lasts,
        components=components or [],
        **kwargs,
    )
