"""Maintenance automation catching up after the scheduler was stopped, with time frozen: the
history keeps the scheduled times and subscribers hear only what is still true."""

import datetime as dt

import pytest
import time_machine

from incidents.models import Incident
from incidents.tasks import advance_maintenances
from notifications import tasks
from statuspage.models import ComponentStatusChange
from tests.factories import make_component, make_maintenance
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import deliver_everything

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
START = T0 + dt.timedelta(hours=1)
END = T0 + dt.timedelta(hours=2)
MINUTE = dt.timedelta(minutes=1)


def beat_tick(at: dt.datetime) -> None:
    """What beat runs every minute, then the workers' fan-out and sending."""
    with time_machine.travel(at, tick=False):
        tasks.record_maintenance_reminders()
        advance_maintenances()
        deliver_everything()


def subjects(sink) -> list[str]:
    return [r.message["Subject"] for r in sink.received]


@pytest.fixture
def database():
    with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
        return make_component("Database")


@pytest.fixture
def upgrade(database) -> Incident:
    make_subscriber("db@example.com", components=[database])
    with time_machine.travel(T0, tick=False):
        return make_maintenance(
            "Database upgrade", starts_in=START - T0, lasts=END - START, components=[database]
        )


def timeline(maintenance: Incident) -> list[tuple[str, dt.datetime]]:
    return list(
        maintenance.updates.order_by("display_at", "id").values_list("status", "display_at")
    )


def test_a_window_that_passed_while_stopped_keeps_its_times_and_is_announced_once(
    smtp_sink, database, upgrade
):
    beat_tick(T0)
    # The scheduler is stopped from T0 + 1 minute to 17 minutes after the window ended.
    beat_tick(END + 17 * MINUTE)

    upgrade.refresh_from_db()
    assert upgrade.status == "completed"
    assert upgrade.started_at == START
    assert upgrade.resolved_at == END
    assert timeline(upgrade) == [
        ("scheduled", T0),
        ("in_progress", START),
        ("completed", END),
    ]
    assert subjects(smtp_sink) == [
        "[Scheduled maintenance] Database upgrade",
        "[Maintenance completed] Database upgrade",
    ]
    changes = ComponentStatusChange.objects.filter(component=database).order_by("changed_at")
    assert [(c.to_status, c.changed_at) for c in changes] == [
        ("under_maintenance", START),
        ("operational", END),
    ]
    database.refresh_from_db()
    assert database.status == "operational"

    beat_tick(END + 18 * MINUTE)
    assert len(smtp_sink.received) == 2


def test_a_late_start_keeps_the_scheduled_start(smtp_sink, database, upgrade):
    beat_tick(T0)
    beat_tick(START + 12 * MINUTE)

    upgrade.refresh_from_db()
    assert upgrade.status == "in_progress"
    assert upgrade.started_at == START
    assert subjects(smtp_sink)[-1] == "[Maintenance in progress] Database upgrade"
    database.refresh_from_db()
    assert database.status == "under_maintenance"
    assert database.status_changed_at == START

    beat_tick(END)
    upgrade.refresh_from_db()
    assert (upgrade.started_at, upgrade.resolved_at) == (START, END)


def test_a_late_completion_keeps_the_scheduled_end(smtp_sink, database, upgrade):
    beat_tick(T0)
    beat_tick(START)
    beat_tick(END + 17 * MINUTE)
    beat_tick(END + 18 * MINUTE)

    upgrade.refresh_from_db()
    assert (upgrade.started_at, upgrade.resolved_at) == (START, END)
    assert subjects(smtp_sink) == [
        "[Scheduled maintenance] Database upgrade",
        "[Maintenance in progress] Database upgrade",
        "[Maintenance completed] Database upgrade",
    ]
    database.refresh_from_db()
    assert (database.status, database.status_changed_at) == ("operational", END)


def test_on_time_ticks_still_announce_the_start_and_the_end(smtp_sink, upgrade):
    for at in (T0, START - MINUTE, START, END - MINUTE, END):
        beat_tick(at)

    upgrade.refresh_from_db()
    assert (upgrade.started_at, upgrade.resolved_at) == (START, END)
    assert subjects(smtp_sink) == [
        "[Scheduled maintenance] Database upgrade",
        "[Maintenance in progress] Database upgrade",
        "[Maintenance completed] Database upgrade",
    ]
