"""The standard demo: a calendar-sync company with service groups and 90 days of history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

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
from incidents.models import Impact, IncidentTemplate, MaintenanceStatus
from statuspage.models import Component, ComponentGroup


@transaction.atomic
def build_demo() -> None:
    """A company's page: grouped services, third-party providers, 90 days of incidents."""
    since = moment(120, 0)
    core = ComponentGroup.objects.create(
        name="Core API services",
        position=1,
        description="The API and everything that runs behind it.",
    )
    centers = ComponentGroup.objects.create(
        name="Data centers", position=2, description="Where your data is stored and served."
    )
    conferencing = ComponentGroup.objects.create(
        name="Conferencing providers",
        position=3,
        description="Third-party video services we create meetings with.",
    )
    calendars = ComponentGroup.objects.create(
        name="Calendar providers",
        position=4,
        collapsed=True,
        description="Third-party calendar services we synchronize with.",
    )

    def add(
        name: str,
        group: ComponentGroup | None,
        position: int,
        description: str,
        start: dt.datetime = since,
        **fields: object,
    ) -> Component:
        return new_component(
            name, since=start, group=group, position=position, description=description, **fields
        )

    add("API", core, 1, "Requests to the public REST API.")
    add("Background processing", core, 2, "Calendar sync, webhooks and other queued work.")
    add("Developer dashboard", core, 3, "Where developers manage their applications.")
    add("Scheduler", core, 4, "The hosted booking and availability pages.")
    add("US data center", centers, 1, "Hosts accounts created in the Americas.")
    add("German data center", centers, 2, "Hosts accounts that chose EU data residency.")
    add(
        "Australian data center",
        centers,
        3,
        "Opened recently for Asia-Pacific accounts.",
        start=moment(34, 0),
    )
    add("Meetwise", conferencing, 1, "Meeting links for Meetwise accounts.")
    add("Talkbridge", conferencing, 2, "Meeting links for Talkbridge accounts.")
    add("Confera", conferencing, 3, "Meeting links for Confera rooms.")
    add("Daybook Calendar", calendars, 1, "Sync with Daybook calendars.")
    add("Orbit Mail & Calendar", calendars, 2, "Sync with Orbit personal accounts.")
    add("Tempo Workspace", calendars, 3, "Sync with Tempo business calendars.")
    add("On-premises Exchange", calendars, 4, "Sync with self-hosted Exchange servers.")
    add("Website", None, 10, "The marketing site and documentation.", showcase=False)
    add(
        "Legacy v1 API",
        None,
        11,
        "The retired v1 endpoints, still answering for old clients.",
        only_show_if_degraded=True,
    )
    add("Billing reconciler", None, 12, "Internal nightly job.", is_public=False)

    play(_demo_stories({c.name: c for c in Component.objects.all()}))

    outage = IncidentTemplate.objects.create(
        name="Data center unreachable",
        incident_name="Data center unreachable",
        status=INVESTIGATING,
        impact=Impact.MAJOR,
        body="We are investigating connection failures to one of our data centers. "
        "Requests may time out. Next update within 30 minutes.",
    )
    outage.components.set(Component.objects.filter(group=centers))
    provider = IncidentTemplate.objects.create(
        name="Third-party provider degraded",
        incident_name="Delays with a third-party provider",
        status=IDENTIFIED,
        impact=Impact.MINOR,
        body="One of the providers we connect to is having problems on their side. "
        "Changes may take longer than usual to appear. We are following their status page "
        "and will update here when they recover.",
    )
    provider.components.set(Component.objects.filter(group__in=[conferencing, calendars]))


def _demo_stories(by_name: Mapping[str, Component]) -> list[Story]:
    api, jobs, dashboard, scheduler = (
        by_name[name]
        for name in ("API", "Background processing", "Developer dashboard", "Scheduler")
    )
    us, de = by_name["US data center"], by_name["German data center"]
    meetwise, talkbridge = by_name["Meetwise"], by_name["Talkbridge"]
    daybook, orbit = by_name["Daybook Calendar"], by_name["Orbit Mail & Calendar"]
    exchange = by_name["On-premises Exchange"]
    now = timezone.now().replace(second=0, microsecond=0)
    minutes_ago = lambda n: now - dt.timedelta(minutes=n)  # noqa: E731
    critical_day = moment(62, 0)
    return [
        Story(
            name="Elevated API error rates",
            impact=Impact.MAJOR,
            steps=[
                Step(
                    moment(84, 8, 41),
                    INVESTIGATING,
                    "We are seeing more API requests fail than usual and are looking into it.",
                    {api: PARTIAL},
                ),
                Step(
                    moment(84, 9, 3),
                    IDENTIFIED,
                    "A cache node in the US data center is refusing connections. Requests "
                    "that need it fail. We are replacing the node.",
                ),
                Step(
                    moment(84, 9, 27),
                    IDENTIFIED,
                    "The replacement node is warming up. Error rates are falling but are "
                    "not back to normal yet.",
                    {api: DEGRADED},
                ),
                Step(
                    moment(84, 9, 52),
                    MONITORING,
                    "Error rates are back to their usual level. We are keeping an eye on them.",
                    {api: OPERATIONAL},
                ),
                Step(
                    moment(84, 10, 40),
                    RESOLVED,
                    "The API has been healthy for the last hour. This incident is resolved.",
                ),
            ],
        ),
        Story(
            name="Slow background processing",
            impact=Impact.MINOR,
            steps=[
                Step(
                    moment(75, 15, 10),
                    INVESTIGATING,
                    "Calendar changes and webhooks are taking several minutes to go through. "
                    "We are investigating.",
                    {jobs: DEGRADED},
                ),
                Step(
                    moment(75, 15, 34),
                    IDENTIFIED,
                    "A burst of sync work from a single integration filled the queue. We "
                    "have added workers to drain it.",
                ),
                Step(
                    moment(75, 16, 20),
                    RESOLVED,
                    "The queue is empty again and work is processed within seconds.",
                ),
            ],
        ),
        Story(
            name="API and dashboard unavailable in the US data center",
            impact=Impact.CRITICAL,
            steps=[
                Step(
                    moment(62, 14, 2),
                    INVESTIGATING,
                    "The API and the developer dashboard are not answering in the US data "
                    "center. We are investigating with the highest priority.",
                    {us: MAJOR, api: MAJOR, dashboard: MAJOR},
                ),
                Step(
                    moment(62, 14, 19),
                    IDENTIFIED,
                    "Our API servers cannot connect to their database after a credential "
                    "rotation. We are rolling the change back.",
                ),
                Step(
                    moment(62, 15, 5),
                    MONITORING,
                    "The rollback is complete and requests are succeeding again. Queued "
                    "calendar sync is catching up, so some changes may still be delayed.",
                    {us: OPERATIONAL, api: OPERATIONAL, dashboard: OPERATIONAL},
                ),
                Step(
                    moment(62, 15, 48),
                    RESOLVED,
                    "All queued work has been processed and everything is running normally. "
                    "We will publish a postmortem.",
                ),
            ],
            postmortem=_postmortem(critical_day),
        ),
        Story(
            name="Intermittent reauthorization prompts for Daybook users",
            impact=Impact.NONE,
            steps=[
                Step(
                    moment(55, 11, 0),
                    INVESTIGATING,
                    "A few users connected through Daybook Calendar are being asked to "
                    "reconnect their account. Their calendars keep syncing in the meantime.",
                    {daybook: OPERATIONAL},
                ),
                Step(
                    moment(54, 10, 30),
                    RESOLVED,
                    "Daybook fixed a token refresh problem on their side and no more prompts "
                    "have been reported. Users who reconnected need to do nothing else.",
                ),
            ],
        ),
        Story(
            name="Brief scheduler pause during database failover",
            impact=Impact.MINOR,
            backfilled=True,
            steps=[
                Step(moment(48, 3, 12), INVESTIGATING, "", {scheduler: PARTIAL}),
                Step(
                    moment(48, 3, 31),
                    RESOLVED,
                    "Between 03:12 and 03:31 booking pages were slow to load or failed while "
                    "our database moved to a standby server. We are adding this note after "
                    "the fact; no bookings were lost.",
                ),
            ],
        ),
        Story(
            name="German data center unreachable",
            impact=Impact.MAJOR,
            steps=[
                Step(
                    moment(41, 9, 14),
                    INVESTIGATING,
                    "Since 09:12 the German data center is not answering API and web "
                    "requests. We are investigating.",
                    {de: MAJOR},
                ),
                Step(
                    moment(41, 9, 26),
                    MONITORING,
                    "Traffic is flowing again after the load balancer pool was restarted. "
                    "Some requests may still be slow while connections are rebuilt.",
                    {de: DEGRADED},
                ),
                Step(
                    moment(41, 10, 5),
                    RESOLVED,
                    "The German data center has been stable for over half an hour. We are "
                    "working with our hosting provider on the cause of the failure.",
                ),
            ],
        ),
        Story(
            name="Requests failing because of a DNS provider outage",
            impact=Impact.CRITICAL,
            steps=[
                Step(
                    moment(33, 18, 40),
                    INVESTIGATING,
                    "Many clients cannot resolve our API's hostname. Requests fail before "
                    "they reach us.",
                    {api: MAJOR, dashboard: MAJOR, scheduler: MAJOR},
                ),
                Step(
                    moment(33, 18, 58),
                    IDENTIFIED,
                    "Our DNS provider has an outage. We are switching to our secondary provider.",
                ),
                Step(
                    moment(33, 19, 21),
                    MONITORING,
                    "Our secondary DNS provider is now answering. Cached failures may take "
                    "a few minutes to clear on your side.",
                    {api: OPERATIONAL, dashboard: OPERATIONAL, scheduler: OPERATIONAL},
                ),
                Step(
                    moment(33, 20, 0),
                    RESOLVED,
                    "Name resolution is healthy everywhere we can measure. Resolved.",
                ),
            ],
        ),
        Story(
            name="Dashboard usage charts showing stale numbers",
            impact=Impact.NONE,
            steps=[
                Step(
                    moment(29, 13, 30),
                    IDENTIFIED,
                    "The usage charts in the developer dashboard stopped refreshing at "
                    "11:00. The API and your data are not affected. A fix is in progress.",
                    {dashboard: OPERATIONAL},
                ),
                Step(
                    moment(29, 15, 10),
                    RESOLVED,
                    "The charts are up to date again, including the missing hours.",
                ),
            ],
        ),
        Story(
            name="Meetwise meeting links cannot be created",
            impact=Impact.MAJOR,
            steps=[
                Step(
                    moment(23, 16, 5),
                    INVESTIGATING,
                    "Creating events with a Meetwise link fails. Events without a meeting "
                    "link are not affected.",
                    {meetwise: MAJOR},
                ),
                Step(
                    moment(23, 16, 22),
                    IDENTIFIED,
                    "Meetwise's API is returning errors for every meeting request. We have "
                    "reported it to them and are following their status page.",
                ),
                Step(
                    moment(23, 17, 40),
                    MONITORING,
                    "Meetwise reports a fix. Meeting links are being created again and we "
                    "are retrying the requests that failed.",
                    {meetwise: DEGRADED},
                ),
                Step(
                    moment(23, 18, 15),
                    RESOLVED,
                    "Every failed request has been retried successfully. Resolved.",
                ),
            ],
        ),
        Story(
            name="Database upgrade in the German data center",
            impact=Impact.MAINTENANCE,
            window=(moment(19, 2, 0), moment(19, 3, 30)),
            steps=[
                Step(
                    moment(26, 10, 0),
                    MaintenanceStatus.SCHEDULED,
                    "We will upgrade the database of the German data center. The API will "
                    "answer, but changes may take a few minutes to appear during the window.",
                    {de: UNDER_MAINTENANCE},
                ),
                Step(
                    moment(19, 2, 0),
                    MaintenanceStatus.IN_PROGRESS,
                    "The upgrade has started.",
                    {de: UNDER_MAINTENANCE},
                ),
                Step(
                    moment(19, 3, 5),
                    MaintenanceStatus.VERIFYING,
                    "The upgrade is done and we are checking that everything works.",
                ),
                Step(
                    moment(19, 3, 20),
                    MaintenanceStatus.COMPLETED,
                    "The maintenance is complete. Thank you for your patience.",
                ),
            ],
        ),
        Story(
            name="Delayed sync for Orbit Mail & Calendar",
            impact=Impact.MINOR,
            steps=[
                Step(
                    moment(12, 7, 45),
                    INVESTIGATING,
                    "Changes in Orbit calendars are reaching us late, sometimes by an hour.",
                    {orbit: PARTIAL},
                ),
                Step(
                    moment(12, 8, 30),
                    IDENTIFIED,
                    "Orbit is answering a share of our requests with server errors. We have "
                    "slowed our polling so the rest go through and have contacted Orbit.",
                ),
                Step(
                    moment(12, 11, 50),
                    MONITORING,
                    "Orbit's errors have stopped and the backlog is shrinking.",
                    {orbit: DEGRADED},
                ),
                Step(
                    moment(12, 13, 5),
                    RESOLVED,
                    "Sync with Orbit is back to normal and the backlog is cleared.",
                ),
            ],
        ),
        Story(
            name="Talkbridge links missing from some invitations",
            impact=Impact.MINOR,
            steps=[
                Step(
                    moment(8, 20, 10),
                    INVESTIGATING,
                    "Some invitations created in the last hour have no Talkbridge link.",
                    {talkbridge: PARTIAL},
                ),
                Step(
                    moment(8, 21, 0),
                    RESOLVED,
                    "Talkbridge recovered and we added the missing links to the affected events.",
                ),
            ],
        ),
        Story(
            name="Scheduler running reminders late",
            impact=Impact.MINOR,
            steps=[
                Step(
                    moment(5, 6, 20),
                    INVESTIGATING,
                    "Booking reminders are going out up to 15 minutes late.",
                    {scheduler: DEGRADED},
                ),
                Step(
                    moment(5, 6, 55),
                    MONITORING,
                    "We restarted a stuck worker and reminders are on time again.",
                    {scheduler: OPERATIONAL},
                ),
                Step(moment(5, 7, 40), RESOLVED, "Reminders have been on time since 06:50."),
            ],
        ),
        Story(
            name="Exchange servers rejecting sync requests",
            impact=Impact.MINOR,
            steps=[
                Step(
                    moment(2, 14, 0),
                    INVESTIGATING,
                    "Several on-premises Exchange servers reject our sync requests.",
                    {exchange: PARTIAL},
                ),
                Step(
                    moment(2, 14, 45),
                    RESOLVED,
                    "A certificate change on our side was not yet trusted by older Exchange "
                    "servers. We restored the previous chain.",
                ),
            ],
        ),
        Story(
            name="Increased latency for background jobs",
            impact=Impact.MINOR,
            steps=[
                Step(
                    minutes_ago(47),
                    INVESTIGATING,
                    "Webhooks and calendar sync are slower than usual. We are investigating.",
                    {jobs: DEGRADED},
                ),
                Step(
                    minutes_ago(21),
                    IDENTIFIED,
                    "One of our queue servers is running out of memory. We are moving its "
                    "work to the other servers. Changes still go through, with delays of up "
                    "to ten minutes.",
                ),
            ],
        ),
        Story(
            name="Network maintenance in the US data center",
            impact=Impact.MAINTENANCE,
            window=(moment(-4, 6, 0), moment(-4, 7, 0)),
            steps=[
                Step(
                    minutes_ago(60 * 26),
                    MaintenanceStatus.SCHEDULED,
                    "Our hosting provider will replace core switches in the US data center. "
                    "Traffic will move to redundant links, so we expect no downtime, but some "
                    "requests may be slower for a few minutes.",
                    {us: UNDER_MAINTENANCE, api: UNDER_MAINTENANCE},
                ),
            ],
        ),
    ]


def _postmortem(day: dt.datetime) -> str:
    date = day.strftime("%B %-d, %Y")
    return f"""\
## Summary

On {date}, from 14:02 to 15:05 UTC, the API and the developer dashboard were unavailable for
every account hosted in our US data center. Calendar sync stopped during that time and caught
up by 15:48 UTC. No data was lost, but changes made in calendars during the outage reached
applications up to 45 minutes late.

We are sorry. An hour without the API is an hour in which your users could not book, move or
cancel anything through your product, and we know many of you answered support tickets about it.

## What happened

We rotate our database credentials every 30 days. The rotation writes a new password, waits for
every server to pick it up, and only then revokes the old one. That day the step that waits
read its list of servers from a cache that had not been refreshed since a scaling event in the
morning, so it did not know about eleven new API servers.

The old password was revoked while those eleven servers still used it. Their connections
failed, and our retry logic made things worse:

1. Each failing server retried its connections without waiting between attempts.
2. The database spent its time rejecting logins and started timing out the healthy servers too.
3. Health checks then took the healthy servers out of the load balancer, and the whole US API
   stopped answering.

The faulty retry setting, as it was deployed:

```yaml
database:
  pool_size: 40
  connect_retries: unlimited
  connect_retry_delay: 0s   # should never be zero
```

## Timeline

| Time (UTC) | Event |
|------------|-------|
| 13:58 | Credential rotation revokes the old password |
| 14:00 | Error rate alarms fire; the on-call engineer is paged |
| 14:02 | Incident opened on this page |
| 14:19 | Cause identified: servers using the revoked password |
| 14:41 | Old password restored; servers reconnect gradually |
| 15:05 | API and dashboard answering normally |
| 15:48 | Sync backlog fully processed; incident resolved |

## What we are changing

- **Rotation reads the live server list**, straight from our orchestrator, never from a cache.
  Done on the day.
- **Retries back off.** Connection retries now wait with exponential backoff and jitter, capped
  at 30 seconds. Done.
- **Revocation is checked.** Before revoking, the rotation confirms that no connection still
  uses the old password. In progress, due next month.
- **A game day.** We will rehearse a failed rotation in our staging environment every quarter.

The retry behaviour follows the advice in the PostgreSQL documentation on
[connection settings](https://www.postgresql.org/docs/current/runtime-config-connection.html);
we had simply not applied it to this one setting.

If your integration needs help catching up on anything missed, write to our support team and
mention this incident.
"""
