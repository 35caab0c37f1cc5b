"""A backlog drains in few tasks: one send task claims batch after batch while deliveries are
due, and hands over to a fresh task only when its time is up."""

import pytest

from notifications import sending
from notifications.models import Delivery, DeliveryStatus, SubscriberKind
from tests.factories import make_incident
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import fan_out_pending

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db


def test_one_send_task_drains_every_due_batch(smtp_sink, settings):
    settings.NOTIFY_EMAIL_BATCH_SIZE = 2
    for n in range(7):
        make_subscriber(f"person{n}@example.com")
    make_incident()
    fan_out_pending()

    assert sending.deliveries_send(channel=SubscriberKind.EMAIL) == 7
    assert len(smtp_sink.received) == 7
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_a_send_task_out_of_time_hands_the_rest_to_the_next(smtp_sink, settings):
    settings.NOTIFY_EMAIL_BATCH_SIZE = 2
    for n in range(7):
        make_subscriber(f"person{n}@example.com")
    make_incident()
    fan_out_pending()

    # No time left after the first batch: the task stops there (the next is enqueued).
    assert sending.deliveries_send(channel=SubscriberKind.EMAIL, budget=0) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 5
