"""How demo history is written: incidents told as dated updates, played through the services.

Everything is written through the same services staff use, in chronological order, with the
times of the past: each status change lands in the component history and the uptime rollup
exactly as it would have on the day. Components are created with their history starting in
the past, so the services never have to move a change forward in time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import (
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
)
from statuspage.models import Component, ComponentGroup, ComponentStatus

OPERATIONAL = ComponentStatus.OPERATIONAL
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE
MAJOR = ComponentStatus.MAJOR_OUTAGE
UNDER_MAINTENANCE = ComponentStatus.UNDER_MAINTENANCE

INVESTIGATING = IncidentStatus.INVESTIGATING
IDENTIFIED = IncidentStatus.IDENTIFIED
MONITORING = IncidentStatus.MONITORING
RESOLVED = IncidentStatus.RESOLVED


@dataclass(frozen=True)
class Step:
    """One update of a story: when, which status, what it says, what it does to components."""

    at: dt.datetime
    status: str
    body: str
    components: Mapping[Component, str] = field(default_factory=dict)


@dataclass
class Story:
    """An incident or maintenance told as its updates; a maintenance has a window.

    A backfilled story is entered after the fact with incident_backfill; its components must
    have been operational around it (no other story may overlap it on the same component).
    """

    name: str
    impact: str
    steps: list[Step]
    postmortem: str = ""
    window: tuple[dt.datetime, dt.datetime] | None = None
    backfilled: bool = False


def play(stories: Sequence[Story]) -> list[Incident]:
    """Write the stories through the services, every update of every story in time order."""
    events = sorted(
        (step.at, index, number)
        for index, story in enumerate(stories)
        for number, step in enumerate(story.steps)
        if not story.backfilled
    )
    written: dict[int, Incident] = {}
    for _at, index, number in events:
        story, step = stories[index], stories[index].steps[number]
        if number == 0:
            written[index] = _begin(story, step)
        elif step.status == RESOLVED:
            incident_services.incident_resolve(
                incident=written[index],
                body=step.body,
                resolved_at=step.at,
                deliver_notifications=False,
            )
        else:
            incident_services.incident_post_update(
                incident=written[index],
                status=step.status,
                body=step.body,
                component_statuses=step.components,
                display_at=step.at,
                deliver_notifications=False,
            )
    for index, story in enumerate(stories):
        if story.backfilled:
            written[index] = _backfill(story)
        if story.postmortem:
            incident_services.incident_publish_postmortem(
                incident=written[index], body=story.postmortem, deliver_notifications=False
            )
    return [written[index] for index in range(len(stories))]


def _begin(story: Story, step: Step) -> Incident:
    if story.window is None:
        return incident_services.incident_open(
            name=story.name,
            impact=story.impact,
            body=step.body,
            status=step.status,
            component_statuses=step.components,
            started_at=step.at,
            deliver_notifications=False,
        )
    maintenance = incident_services.maintenance_schedule(
        name=story.name,
        body=step.body,
        scheduled_for=story.window[0],
        scheduled_until=story.window[1],
        components=list(step.components),
        deliver_notifications=False,
    )
    # maintenance_schedule dates its announcement "now"; a demo announced in the past shows
    # it at the time it was made, so the timeline reads in order.
    IncidentUpdate.objects.filter(incident=maintenance).update(display_at=step.at)
    return maintenance


def _backfill(story: Story) -> Incident:
    """Enter a story after the fact with its whole timeline (the steps that have a message);
    its first step's component statuses hold until the end."""
    first = story.steps[0]
    return incident_services.incident_backfill(
        name=story.name,
        impact=story.impact,
        started_at=first.at,
        updates=[
            incident_services.PastUpdate(at=step.at, status=step.status, body=step.body)
            for step in story.steps
            if step.body
        ],
        component_statuses=first.components,
    )


def moment(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time on a day in the past (negative: in the future) in the page's zone."""
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def new_component(
    name: str, *, since: dt.datetime, group: ComponentGroup | None = None, **fields: object
) -> Component:
    """A component whose history (and uptime) begins at `since`."""
    return Component.objects.create(
        name=name, group=group, created_at=since, status_changed_at=since, **fields
    )


def has_data() -> bool:
    return Component.objects.exists() or Incident.objects.exists()


@transaction.atomic
def wipe() -> None:
    """Delete every incident, template, component and group (a demo database only)."""
    Incident.objects.all().delete()
    IncidentTemplate.objects.all().delete()
    Component.objects.all().delete()
    ComponentGroup.objects.all().delete()
