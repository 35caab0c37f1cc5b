"""How work reaches the workers: an outbox event is enqueued once its transaction commits, and a
broker outage delays mail without failing the staff member's request."""

import logging
import socket
import time

import pytest
from django.core import mail

from incidents import services as incident_services
from incidents.models import OutboxEvent
from notifications import tasks
from notifications.models import Delivery
from statuspage.celery import app
from tests.factories import make_incident
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import fan_out_pending
from tests.notifications.worker import point_app_at, restore_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def broker_down():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    old = point_app_at(f"redis://127.0.0.1:{port}/2")  # nothing listens there any more
    yield
    restore_app(old)


def test_it_enqueues_nothing_before_the_commit(eager_tasks, django_capture_on_commit_callbacks):
    make_subscriber("ada@example.com")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_incident()
    assert mail.outbox == []
    assert Delivery.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:  # the commit
            callback()
    assert len(mail.outbox) == 1


def test_it_fans_out_and_sends_a_committed_event_through_the_tasks(
    eager_tasks, django_capture_on_commit_callbacks
):
    make_subscriber("ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        make_incident("Elevated API errors")
    assert [m.subject for m in mail.outbox] == ["[Investigating] Elevated API errors"]
    assert OutboxEvent.objects.get().processed_at is not None


def test_it_saves_an_update_with_the_broker_down_and_sends_it_after_a_sweep(
    broker_down, django_capture_on_commit_callbacks, caplog, settings, eager_tasks
):
    settings.NOTIFY_SWEEP_GRACE_SECONDS = 0
    make_subscriber("ada@example.com")
    incident = make_incident()
    OutboxEvent.objects.update(processed_at=incident.created_at)
    app.conf.task_always_eager = False

    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="notifications.dispatch"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        update = incident_services.incident_post_update(
            incident=incident, status="identified", body="We found the cause."
        )
    assert time.monotonic() - started < 3
    assert "the notifications sweeper will pick the work up" in caplog.text
    update.refresh_from_db()
    event = OutboxEvent.objects.get(update=update)
    assert event.processed_at is None
    assert mail.outbox == []

    app.conf.task_always_eager = True  # the broker is back, in the form of eager tasks
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    assert [m.subject for m in mail.outbox] == [f"[Identified] {incident.name}"]


def test_it_keeps_sending_while_batches_come_back_full(eager_tasks, settings):
    settings.NOTIFY_EMAIL_BATCH_SIZE = 2
    for n in range(5):
        make_subscriber(f"person{n}@example.com")
    make_incident()
    fan_out_pending()
    tasks.send_deliveries("email")
    assert len(mail.outbox) == 5
