"""The large data set for benchmarks: many components in groups and years of incidents."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from incidents.demo.story import (
    DEGRADED,
    IDENTIFIED,
    INVESTIGATING,
    MAJOR,
    MONITORING,
    OPERATIONAL,
    PARTIAL,
    RESOLVED,
    UNDER_MAINTENANCE,
    Step,
    Story,
    moment,
    new_component,
    play,
)
from incidents.models import Impact, MaintenanceStatus
from statuspage.models import Component, ComponentGroup

_LARGE_GROUPS = [
    (
        "Core API services",
        [
            "API",
            "Background processing",
            "Developer dashboard",
            "Scheduler",
            "Webhooks",
            "Search",
            "Push notifications",
        ],
    ),
    ("Data centers", ["US East", "US West", "Germany", "Ireland", "Australia", "Japan", "Brazil"]),
    (
        "Conferencing providers",
        ["Meetwise", "Talkbridge", "Confera", "Huddlecast", "Roomly", "Voxline", "Panelio"],
    ),
    (
        "Calendar providers",
        [
            "Daybook Calendar",
            "Orbit Mail & Calendar",
            "Tempo Workspace",
            "On-premises Exchange",
            "Almanac",
            "Plannery",
            "Datewise",
        ],
    ),
    (
        "Messaging",
        [
            "Email delivery",
            "SMS delivery",
            "Chat integrations",
            "Inbound email",
            "Digest emails",
            "Mobile push",
            "Voice calls",
        ],
    ),
    (
        "Storage",
        [
            "File uploads",
            "Attachments",
            "Backups",
            "Exports",
            "Imports",
            "Object storage",
            "Archive",
        ],
    ),
    (
        "Identity",
        [
            "Sign-in",
            "Single sign-on",
            "Two-factor codes",
            "User directory",
            "OAuth tokens",
            "Audit log",
            "Session service",
        ],
    ),
    (
        "Payments",
        [
            "Card payments",
            "Invoices",
            "Subscriptions",
            "Refunds",
            "Payouts",
            "Tax calculation",
            "Receipts",
        ],
    ),
]
_LARGE_UNGROUPED = ["Website", "Documentation", "Status emails", "Community forum"]

_NAMES = [
    "Elevated error rates for {c}",
    "Increased latency on {c}",
    "{c} unavailable",
    "Degraded performance of {c}",
    "Intermittent failures in {c}",
    "Delays with {c}",
]
_CAUSES = [
    "a failed storage volume",
    "an overloaded database replica",
    "a faulty network switch",
    "a bad configuration change",
    "an expired internal certificate",
    "an outage at an upstream provider",
    "a memory leak in a recent release",
]
_IMPACT_STATUSES = {
    Impact.NONE: [OPERATIONAL],
    Impact.MINOR: [DEGRADED, PARTIAL],
    Impact.MAJOR: [PARTIAL, MAJOR],
    Impact.CRITICAL: [MAJOR],
}
# Incidents that ended this many days ago or more are entered as backfilled history.
ARCHIVE_AFTER_DAYS = 95

_IMPACT_WEIGHTS = {Impact.NONE: 1, Impact.MINOR: 5, Impact.MAJOR: 3, Impact.CRITICAL: 1}


@transaction.atomic
def build_large(
    *,
    groups: int = 8,
    components: int = 60,
    per_group: int = 7,
    incidents: int = 2000,
    days: int = 730,
    open_incidents: int = 1,
    seed: int = 1,
) -> None:
    """Many components and a long history, for benchmarks: up to `per_group` components in
    each of `groups` groups, the rest of the `components` ungrouped; `incidents` incidents
    spread over `days` days (the newest `open_incidents` still open); one upcoming maintenance.

    Incidents that ended before the page's 90-day window are entered with incident_backfill
    (about a seventh of the queries of playing every update); the newer ones are played
    update by update like the standard demo. Either way the rollup comes from the services.
    """
    rng = random.Random(seed)
    since = moment(days + 1, 0)
    made = _large_components(groups=groups, per_group=per_group, count=components, since=since)
    now = timezone.now().replace(second=0, microsecond=0)
    archive_before = now - dt.timedelta(days=ARCHIVE_AFTER_DAYS)
    first = since + dt.timedelta(hours=1)
    span = (now - dt.timedelta(hours=8) - first).total_seconds()
    starts = sorted(first + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(incidents))
    free_from = dict.fromkeys(made, since)
    stories = []
    for number, start in enumerate(starts):
        still_open = number >= incidents - open_incidents
        if still_open:
            start = now - dt.timedelta(minutes=30 + 20 * (incidents - number))
        story = _large_story(rng, made, free_from, start, still_open=still_open)
        story.backfilled = not still_open and story.steps[-1].at < archive_before
        stories.append(story)
    window_start = moment(-3, 5, 0)
    stories.append(
        Story(
            name="Planned database maintenance",
            impact=Impact.MAINTENANCE,
            window=(window_start, window_start + dt.timedelta(hours=2)),
            steps=[
                Step(
                    now,
                    MaintenanceStatus.SCHEDULED,
                    "We will upgrade the primary database; expect brief slowdowns.",
                    {made[0]: UNDER_MAINTENANCE},
                )
            ],
        )
    )
    play(stories)


def _large_components(
    *, groups: int, per_group: int, count: int, since: dt.datetime
) -> list[Component]:
    made: list[Component] = []
    grouped = [
        (ComponentGroup.objects.create(name=name, position=index), names)
        for index, (name, names) in enumerate(_LARGE_GROUPS[:groups], start=1)
    ]
    for position in range(min([per_group, *(len(names) for _, names in grouped)])):
        for group, names in grouped:
            if len(made) < count:
                made.append(
                    new_component(names[position], since=since, group=group, position=position)
                )
    extra = 0
    while len(made) < count:
        name = _LARGE_UNGROUPED[extra % len(_LARGE_UNGROUPED)]
        if extra >= len(_LARGE_UNGROUPED):
            name = f"{name} {extra // len(_LARGE_UNGROUPED) + 1}"
        made.append(new_component(name, since=since, position=100 + extra))
        extra += 1
    return made


def _large_story(
    rng: random.Random,
    components: list[Component],
    free_from: dict[Component, dt.datetime],
    start: dt.datetime,
    *,
    still_open: bool,
) -> Story:
    """A random incident on components that are not part of another incident at the time."""
    impact = rng.choices(list(_IMPACT_WEIGHTS), weights=list(_IMPACT_WEIGHTS.values()))[0]
    took = dt.timedelta(minutes=rng.randint(12, 360))
    if still_open:
        took = (timezone.now() - start) * 0.8
    free = [c for c in components if free_from[c] <= start]
    affected = rng.sample(free, k=min(len(free), rng.choice([1, 1, 1, 2, 3])))
    for component in affected:
        free_from[component] = start + took
    status = rng.choice(_IMPACT_STATUSES[impact])
    lead = affected[0].name if affected else "our services"
    names = ", ".join(c.name for c in affected) or lead
    steps = [
        Step(
            start,
            INVESTIGATING,
            f"We are investigating problems with {names}.",
            {c: status for c in affected},
        ),
    ]
    middle = (
        [IDENTIFIED] if still_open else rng.sample([IDENTIFIED, MONITORING], k=rng.randint(0, 2))
    )
    for fraction, step_status in zip(
        (0.3, 0.7), sorted(middle, key=[IDENTIFIED, MONITORING].index), strict=False
    ):
        at = start + took * fraction
        if step_status == IDENTIFIED:
            body = f"The cause is {rng.choice(_CAUSES)}. A fix is being applied."
            steps.append(Step(at, IDENTIFIED, body))
        else:
            body = f"A fix is in place and we are watching {lead} closely."
            steps.append(Step(at, MONITORING, body, {c: OPERATIONAL for c in affected}))
    if not still_open:
        steps.append(
            Step(start + took, RESOLVED, f"This incident is resolved; {lead} is working normally.")
        )
    postmortem = ""
    if impact == Impact.CRITICAL and not still_open and rng.random() < 0.3:
        postmortem = (
            f"## What happened\n\n{lead} failed because of {rng.choice(_CAUSES)}.\n\n"
            "## What we are changing\n\n- Better alerting\n- A tested runbook\n"
        )
    name = rng.choice(_NAMES).format(c=lead)
    return Story(name=name, impact=impact, steps=steps, postmortem=postmortem)
