"""Import another status page through its Statuspage v2 API: its components and groups, its
incidents with their whole timelines and its maintenances, with their own times.

Each object made here is recorded with the source's id (`ImportedRecord`), so importing the same
page again changes nothing that is already here; an incident still open there gets the updates
it has posted since. Past incidents and maintenances go through the backfill services (no
notification, each update at its own time); open ones through the services staff use, with
notifications off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from incidents import services
from incidents.models import (
    CLOSED_STATUSES,
    UNRESOLVED_INCIDENT_STATUSES,
    Impact,
    ImportedRecord,
    Incident,
    IncidentStatus,
    MaintenanceStatus,
)
from statuspage.models import Component, ComponentGroup, ComponentStatus

Json = dict[str, Any]
Fetch = Callable[[str], Json]
_COMPONENT_STATUSES = {value for value, _ in ComponentStatus.choices}
_IMPACTS = {value for value, _ in Impact.choices if value != Impact.MAINTENANCE}


class SourceError(Exception):
    """The source answered something that is not a Statuspage v2 API."""


@dataclass
class ImportReport:
    """What one import made, counted by kind, and what it left out and why."""

    made: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def count(self, kind: str, number: int = 1) -> None:
        self.made[kind] = self.made.get(kind, 0) + number

    @property
    def changed_anything(self) -> bool:
        return any(self.made.values())


def api_base(url: str) -> str:
    """The API's base URL from what a user types: the page's address or its /api/v2/ one."""
    url = url.strip().rstrip("/")
    for suffix in ("/summary.json", "/api/v2"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url + "/api/v2/"


def http_fetch(base: str, *, timeout: float = 30.0) -> Fetch:
    client = httpx.Client(
        timeout=timeout, follow_redirects=True, headers={"Accept": "application/json"}
    )

    def fetch(path: str) -> Json:
        response = client.get(base + path)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise SourceError(f"{base + path} is not a JSON object")
        return document

    return fetch


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise SourceError(f"{value!r} is not a time with its offset")
    return parsed


class Importer:
    def __init__(self, *, source: str, fetch: Fetch) -> None:
        self.source = source
        self.fetch = fetch
        self.report = ImportReport()
        self.components: dict[str, Component] = {}

    # Records of what was made.

    def _local_id(self, kind: str, source_id: str) -> int | None:
        return (
            ImportedRecord.objects.filter(source=self.source, kind=kind, source_id=source_id)
            .values_list("local_id", flat=True)
            .first()
        )

    def _remember(self, kind: str, source_id: str, local_id: int) -> None:
        ImportedRecord.objects.create(
            source=self.source, kind=kind, source_id=source_id, local_id=local_id
        )

    # The whole page.

    def run(self) -> ImportReport:
        components = self.fetch("components.json").get("components")
        if not isinstance(components, list):
            raise SourceError("components.json has no list of components")
        incidents = self.fetch("incidents.json").get("incidents") or []
        maintenances = self.fetch("scheduled-maintenances.json").get("scheduled_maintenances") or []
        with transaction.atomic():
            self._import_components(components)
        for incident in sorted(incidents, key=lambda i: str(i.get("created_at"))):
            with transaction.atomic():
                self._import_incident(incident)
        for maintenance in sorted(maintenances, key=lambda i: str(i.get("created_at"))):
            with transaction.atomic():
                self._import_maintenance(maintenance)
        # What the source shows now, for the components no open incident set here.
        with transaction.atomic():
            self._set_current_statuses(components)
        return self.report

    # Components and groups.

    def _import_components(self, rows: list[Json]) -> None:
        groups: dict[str, ComponentGroup] = {}
        for row in rows:
            if row.get("group"):
                groups[row["id"]] = self._group(row)
        for row in rows:
            if not row.get("group"):
                self.components[row["id"]] = self._component(
                    row, groups.get(row.get("group_id") or "")
                )

    def _group(self, row: Json) -> ComponentGroup:
        local_id = self._local_id(ImportedRecord.Kind.GROUP, row["id"])
        if local_id is not None:
            found = ComponentGroup.objects.filter(pk=local_id).first()
            if found is not None:
                return found
        group = ComponentGroup.objects.create(
            name=row["name"],
            description=row.get("description") or "",
            position=int(row.get("position") or 0),
            created_at=_time(row.get("created_at")) or dt.datetime.now(dt.UTC),
        )
        self._remember(ImportedRecord.Kind.GROUP, row["id"], group.pk)
        self.report.count("groups")
        return group

    def _component(self, row: Json, group: ComponentGroup | None) -> Component:
        local_id = self._local_id(ImportedRecord.Kind.COMPONENT, row["id"])
        found = Component.objects.filter(pk=local_id).first() if local_id is not None else None
        status = row.get("status")
        if status not in _COMPONENT_STATUSES:
            raise SourceError(f"component {row['id']} has the status {status!r}")
        if found is None:
            created_at = _time(row.get("created_at")) or dt.datetime.now(dt.UTC)
            start_date = parse_date(row["start_date"]) if row.get("start_date") else None
            found = Component.objects.create(
                name=row["name"],
                description=row.get("description") or "",
                group=group,
                position=int(row.get("position") or 0),
                showcase=bool(row.get("showcase", True)),
                only_show_if_degraded=bool(row.get("only_show_if_degraded", False)),
                start_date=start_date,
                created_at=created_at,
                status_changed_at=created_at,
            )
            self._remember(ImportedRecord.Kind.COMPONENT, row["id"], found.pk)
            self.report.count("components")
        return found

    def _set_current_statuses(self, rows: list[Json]) -> None:
        for row in rows:
            component = self.components.get(row["id"])
            if component is None or row.get("status") == component.status:
                continue
            change = services.component_change_status(
                component=component, status=row["status"], deliver_notifications=False
            )
            if change is not None:
                self.report.count("component statuses")

    # Incidents and maintenances.

    def _timeline(self, row: Json) -> list[services.PastUpdate]:
        timeline = []
        for update in row.get("incident_updates") or []:
            statuses = {
                self.components[change["code"]]: change["new_status"]
                for change in update.get("affected_components") or []
                if change.get("code") in self.components
                and change.get("new_status") in _COMPONENT_STATUSES
            }
            at = _time(update.get("display_at")) or _time(update.get("created_at"))
            if at is None:
                raise SourceError(f"update {update.get('id')} has no time")
            status = update.get("status")
            if status == IncidentStatus.POSTMORTEM:
                status = IncidentStatus.RESOLVED
            timeline.append(
                services.PastUpdate(
                    at=at,
                    status=status,
                    body=update.get("body") or "(no message)",
                    component_statuses=statuses,
                )
            )
        return sorted(timeline, key=lambda u: u.at)

    def _import_incident(self, row: Json) -> None:
        source_id = row["id"]
        local_id = self._local_id(ImportedRecord.Kind.INCIDENT, source_id)
        if local_id is not None:
            self._catch_up(row, local_id)
            return
        timeline = self._timeline(row)
        if not timeline:
            self.report.skipped.append(f"incident {source_id}: no updates")
            return
        impact = str(row.get("impact")) if row.get("impact") in _IMPACTS else Impact.NONE
        started_at = min(_time(row.get("started_at")) or timeline[0].at, timeline[0].at)
        if row.get("status") in CLOSED_STATUSES:
            if timeline[-1].status != IncidentStatus.RESOLVED:
                timeline[-1] = services.PastUpdate(
                    at=timeline[-1].at, status=IncidentStatus.RESOLVED, body=timeline[-1].body
                )
            postmortem = row.get("postmortem_body") or ""
            if row.get("status") == IncidentStatus.POSTMORTEM and not postmortem:
                self.report.skipped.append(
                    f"the postmortem of incident {source_id} (its text is not in the API)"
                )
            incident = services.incident_backfill(
                name=row["name"],
                impact=impact,
                started_at=started_at,
                updates=timeline,
                postmortem_body=postmortem,
                postmortem_published_at=_time(row.get("postmortem_published_at"))
                if postmortem
                else None,
                move_component_starts=True,
            )
        else:
            first = timeline[0]
            incident = services.incident_open(
                name=row["name"],
                impact=impact,
                body=first.body,
                status=first.status
                if first.status in UNRESOLVED_INCIDENT_STATUSES
                else IncidentStatus.INVESTIGATING,
                component_statuses=first.component_statuses,
                deliver_notifications=False,
                started_at=started_at,
            )
            for update in timeline[1:]:
                self._post(incident, update)
        self._remember(ImportedRecord.Kind.INCIDENT, source_id, incident.pk)
        for update in row.get("incident_updates") or []:
            self._remember(ImportedRecord.Kind.UPDATE, update["id"], incident.pk)
        self.report.count("incidents")

    def _post(self, incident: Incident, update: services.PastUpdate) -> None:
        services.incident_post_update(
            incident=incident,
            status=update.status,
            body=update.body,
            component_statuses=update.component_statuses,
            deliver_notifications=False,
            display_at=update.at,
        )

    def _catch_up(self, row: Json, local_id: int) -> None:
        """An incident imported before: post the updates it has had there since, if it is still
        open here."""
        incident = Incident.objects.filter(pk=local_id).first()
        if incident is None or not incident.is_open or incident.is_maintenance:
            return
        known = set(
            ImportedRecord.objects.filter(
                source=self.source, kind=ImportedRecord.Kind.UPDATE
            ).values_list("source_id", flat=True)
        )
        fresh = [u for u in row.get("incident_updates") or [] if u["id"] not in known]
        if not fresh:
            return
        by_id = {u["id"]: u for u in fresh}
        for update in self._timeline({"incident_updates": fresh}):
            self._post(incident, update)
        for source_id in by_id:
            self._remember(ImportedRecord.Kind.UPDATE, source_id, incident.pk)
        self.report.count("updates", len(fresh))

    def _import_maintenance(self, row: Json) -> None:
        source_id = row["id"]
        if self._local_id(ImportedRecord.Kind.INCIDENT, source_id) is not None:
            return
        scheduled_for, scheduled_until = (
            _time(row.get("scheduled_for")),
            _time(row.get("scheduled_until")),
        )
        if scheduled_for is None or scheduled_until is None or scheduled_until <= scheduled_for:
            self.report.skipped.append(f"maintenance {source_id}: no window")
            return
        components = [
            self.components[c["id"]]
            for c in row.get("components") or []
            if c.get("id") in self.components
        ]
        timeline = self._timeline(row)
        status = row.get("status")
        if status == MaintenanceStatus.COMPLETED and timeline:
            if timeline[-1].status != MaintenanceStatus.COMPLETED:
                timeline[-1] = services.PastUpdate(
                    at=timeline[-1].at, status=MaintenanceStatus.COMPLETED, body=timeline[-1].body
                )
            maintenance = services.maintenance_backfill(
                name=row["name"],
                scheduled_for=scheduled_for,
                scheduled_until=scheduled_until,
                updates=timeline,
                components=components,
                started_at=_time(row.get("started_at")),
                move_component_starts=True,
            )
        elif status == MaintenanceStatus.SCHEDULED:
            announcement = timeline[0].body if timeline else row["name"]
            maintenance = services.maintenance_schedule(
                name=row["name"],
                body=announcement,
                scheduled_for=scheduled_for,
                scheduled_until=scheduled_until,
                components=components,
                deliver_notifications=False,
            )
        else:
            self.report.skipped.append(
                f"maintenance {source_id}: {status}, not imported while it runs"
            )
            return
        self._remember(ImportedRecord.Kind.INCIDENT, source_id, maintenance.pk)
        for update in row.get("incident_updates") or []:
            self._remember(ImportedRecord.Kind.UPDATE, update["id"], maintenance.pk)
        self.report.count("maintenances")


def import_statuspage(url: str, *, fetch: Fetch | None = None) -> ImportReport:
    """Import the page at `url` (its address, or its /api/v2/ address)."""
    base = api_base(url)
    importer = Importer(source=base, fetch=fetch or http_fetch(base))
    report = importer.run()
    return report
