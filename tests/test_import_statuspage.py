"""manage.py import_statuspage: a Statuspage v2 page recreated here with its real times, from
recorded payloads served on 127.0.0.1 and from a second instance of this project."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from incidents.models import ImportedRecord, Incident, IncidentUpdate
from statuspage.models import Component, ComponentGroup, ComponentStatusChange
from tests.site_processes import Site

PAYLOADS = Path(__file__).parent / "statuspage_payloads"
PST = dt.timezone(dt.timedelta(hours=-8))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def translate_path(self, path: str) -> str:
        # The payloads answer under /api/v2/, as a Statuspage page does.
        name = path.split("?")[0].removeprefix("/api/v2/")
        return str(PAYLOADS / name)


@pytest.fixture
def recorded_page() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _import(url: str) -> str:
    out = StringIO()
    call_command("import_statuspage", url, stdout=out)
    return out.getvalue()


def _state() -> tuple[int, ...]:
    return (
        ComponentGroup.objects.count(),
        Component.objects.count(),
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        ComponentStatusChange.objects.count(),
        ImportedRecord.objects.count(),
    )


@pytest.mark.django_db
def test_it_recreates_groups_and_components_with_their_statuses(recorded_page: str) -> None:
    _import(recorded_page)
    group = ComponentGroup.objects.get()
    assert group.name == "Data centers"
    assert sorted(group.components.values_list("name", flat=True)) == ["EU-West", "US-East"]
    assert Component.objects.get(name="API").description == "The REST API"
    assert Component.objects.get(name="Dashboard").status == "degraded_performance"


@pytest.mark.django_db
def test_a_past_incident_keeps_its_whole_timeline_times_and_postmortem(recorded_page: str) -> None:
    _import(recorded_page)
    incident = Incident.objects.get(name="Increased error rates on storage in US-East")
    assert incident.backfilled and incident.status == "postmortem"
    assert incident.started_at == dt.datetime(2017, 2, 28, 9, 37, tzinfo=PST)
    assert incident.created_at == incident.started_at
    assert incident.resolved_at == dt.datetime(2017, 3, 1, 2, 10, tzinfo=PST)
    assert incident.postmortem_published_at == dt.datetime(2017, 3, 2, 18, 0, tzinfo=PST)
    timeline = list(incident.updates.order_by("display_at"))
    assert [u.status for u in timeline] == ["investigating", "monitoring", "resolved"]
    assert [u.created_at for u in timeline] == [u.display_at for u in timeline]
    assert "**high error rates**" in timeline[0].body
    us_east = Component.objects.get(name="US-East")
    # The component's history now reaches back to the incident.
    assert us_east.tracked_since <= dt.date(2017, 2, 28)
    outage = us_east.status_changes.get(to_status="major_outage")
    assert outage.changed_at == incident.started_at
    assert us_east.status == "operational"


@pytest.mark.django_db
def test_an_open_incident_and_the_maintenances_come_over_without_notifying(
    recorded_page: str,
) -> None:
    _import(recorded_page)
    open_incident = Incident.objects.get(name="Dashboard slow to load")
    assert open_incident.status == "identified" and not open_incident.backfilled
    assert open_incident.updates.count() == 2
    done = Incident.objects.get(name="Database upgrade")
    assert done.status == "completed" and done.backfilled
    assert done.scheduled_for == dt.datetime(
        2022, 11, 5, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7))
    )
    assert [u.status for u in done.updates.order_by("display_at")] == [
        "scheduled",
        "in_progress",
        "completed",
    ]
    upcoming = Incident.objects.get(name="Network switch replacement")
    assert upcoming.status == "scheduled"
    assert list(upcoming.components.values_list("name", flat=True)) == ["EU-West"]
    assert not Incident.objects.filter(events__isnull=False).exists()


@pytest.mark.django_db
def test_importing_twice_changes_nothing(recorded_page: str) -> None:
    first = _import(recorded_page)
    assert "Imported" in first
    before = _state()
    assert _import(recorded_page + "/api/v2/") == "Nothing new to import.\n"
    assert _state() == before


@pytest.mark.django_db
def test_a_source_that_is_not_a_status_page_is_refused(recorded_page: str) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Could not import"):
        _import(recorded_page + "/nowhere")
    assert not Component.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_copies_a_second_instance_of_this_project(tmp_path: Path) -> None:
    source = Site(tmp_path)
    try:
        source.prepare()
        source.start_app()
        base = f"http://127.0.0.1:{source.app_port}"
        theirs = httpx.get(base + "/api/v2/incidents.json").json()["incidents"]
        components = httpx.get(base + "/api/v2/components.json").json()["components"]
        _import(base)
        before = _state()
        assert _import(base) == "Nothing new to import.\n"
        assert _state() == before
    finally:
        source.close()
    assert sorted(Component.objects.values_list("name", flat=True)) == sorted(
        c["name"] for c in components if not c["group"]
    )
    for document in theirs:
        ours = Incident.objects.get(name=document["name"], started_at=document["started_at"])
        # The v2 API carries no postmortem text: such an incident comes over resolved.
        expected = document["status"]
        if expected == "postmortem" and not document.get("postmortem_body"):
            expected = "resolved"
        assert ours.status == expected
        assert ours.updates.count() == len(document["incident_updates"])
        assert sorted(u.display_at for u in ours.updates.all()) == sorted(
            dt.datetime.fromisoformat(u["display_at"]) for u in document["incident_updates"]
        )
    assert json.dumps(theirs)  # the source answered real documents
