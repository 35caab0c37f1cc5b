"""Maintenance automation on beat, with time frozen: the reminder before the start (once), and
the automatic start and completion, each announced to subscribers."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from incidents.tasks import advance_maintenances
from notifications import tasks
from statuspage.celery import app
from tests.factories import make_component, make_maintenance
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import deliver_everything

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def beat_tick(at: dt.datetime) -> None:
    """What beat runs every minute, then the workers' fan-out and sending."""
    with time_machine.travel(at, tick=False):
        tasks.record_maintenance_reminders()
        advance_maintenances()
        deliver_everything()


def subjects(sink) -> list[str]:
    return [r.message["Subject"] for r in sink.received]


def test_it_puts_the_sweeper_the_reminders_and_the_pruning_on_beat():
    ours = {
        "notifications.sweep",
        "notifications.record_maintenance_reminders",
        "notifications.prune_deliveries",
    }
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert ours <= scheduled
    assert ours <= set(app.tasks)


def test_it_sends_the_reminder_once_at_the_lead_time(smtp_sink, settings):
    settings.NOTIFY_REMINDER_LEAD_MINUTES = 60
    make_subscriber("ada@example.com")
    with time_machine.travel(T0, tick=False):
        make_maintenance("Database upgrade", starts_in=dt.timedelta(hours=3))
    for minutes in (0, 60, 119):
        beat_tick(T0 + dt.timedelta(minutes=minutes))
    assert subjects(smtp_sink) == ["[Scheduled maintenance] Database upgrade"]

    for minutes in (120, 121, 150, 179):
        beat_tick(T0 + dt.timedelta(minutes=minutes))
    assert subjects(smtp_sink) == [
        "[Scheduled maintenance] Database upgrade",
        "[Maintenance reminder] Database upgrade",
    ]
    reminder = smtp_sink.received[1].message.get_body(("plain",)).get_content()
    assert "This scheduled maintenance starts 2 Mar 2026 at 11:00 UTC." in reminder


def test_it_takes_the_lead_time_from_the_settings(smtp_sink, settings):
    settings.NOTIFY_REMINDER_LEAD_MINUTES = 15
    make_subscriber("ada@example.com")
    with time_machine.travel(T0, tick=False):
        make_maintenance("Database upgrade", starts_in=dt.timedelta(hours=1))
    beat_tick(T0 + dt.timedelta(minutes=44))
    assert len(smtp_sink.received) == 1
    beat_tick(T0 + dt.timedelta(minutes=45))
    assert subjects(smtp_sink)[-1] == "[Maintenance reminder] Database upgrade"


def test_it_announces_a_maintenance_starting_and_completing_by_itself(smtp_sink, settings):
    settings.NOTIFY_REMINDER_LEAD_MINUTES = 60
    database = make_component("Database")
    make_subscriber("db@example.com", components=[database])
    with time_machine.travel(T0, tick=False):
        make_maintenance(
            "Database upgrade",
            starts_in=dt.timedelta(hours=2),
            lasts=dt.timedelta(hours=1),
            components=[database],
        )
    for minutes in range(0, 200, 10):
        beat_tick(T0 + dt.timedelta(minutes=minutes))
    assert subjects(smtp_sink) == [
        "[Scheduled maintenance] Database upgrade",
        "[Maintenance reminder] Database upgrade",
        "[Maintenance in progress] Database upgrade",
        "[Maintenance completed] Database upgrade",
    ]
    assert timezone.now() > T0
