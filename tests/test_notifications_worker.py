"""Real Celery worker processes (`celery -A statuspage worker`, Redis database 2) sending to an
SMTP server in this process, against a database both processes see.

These tests carry the `worker` marker; without Redis they skip, and under CI they fail.
"""

import socket
import time

import pytest

from incidents import services as incident_services
from incidents.models import OutboxEvent
from notifications.journal import journal_at
from notifications.models import Delivery, DeliveryStatus
from tests.factories import make_component, make_incident
from tests.notifications.factories import make_subscriber
from tests.notifications.worker import REDIS_URL, point_app_at

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def all_settled() -> bool:
    unsettled = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    return (
        not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
        and not Delivery.objects.filter(status__in=unsettled).exists()
    )


def test_it_fans_out_and_sends_the_mail_in_a_worker_process(smtp_sink, start_worker):
    api, web = make_component("API"), make_component("Web")
    make_subscriber("ada@example.com")
    make_subscriber("api@example.com", components=[api])
    make_subscriber("web@example.com", components=[web])
    worker = start_worker(smtp_port=smtp_sink.port)

    make_incident("Elevated API errors", components={api: "major_outage"})

    smtp_sink.wait_for_count(2, timeout=30)
    wait_until(all_settled, timeout=10, what="the deliveries to be recorded")
    assert smtp_sink.counts() == {"ada@example.com": 1, "api@example.com": 1}
    assert {m["Subject"] for m in map(lambda r: r.message, smtp_sink.received)} == {
        "[Investigating] Elevated API errors"
    }
    assert "notifications.fan_out_event" in worker.log()


@pytest.mark.parametrize("store", ["redis", "file"])
def test_it_delivers_every_message_once_when_a_worker_is_killed_mid_batch(
    smtp_sink, start_worker, tmp_path, store
):
    recipients = [f"person{n:02}@example.com" for n in range(40)]
    for address in recipients:
        make_subscriber(address)
    journal_url = REDIS_URL if store == "redis" else f"file://{tmp_path / 'journal'}"
    env = {
        "NOTIFY_EMAIL_BATCH_SIZE": "10",
        "NOTIFY_CLAIM_LEASE_SECONDS": "3",
        "NOTIFY_SWEEP_SECONDS": "1",
        "NOTIFY_JOURNAL_URL": journal_url,
    }
    worker = start_worker(smtp_port=smtp_sink.port, beat=True, **env)
    crash = {"done": False}

    def kill_the_worker_on_the_15th_message(address: str) -> str | None:
        # Called by the SMTP server as a recipient is given: SIGKILL the worker half-way
        # through its second batch, before this message is accepted.
        if not crash["done"] and len(smtp_sink.received) == 14:
            crash["done"] = True
            worker.kill()
            return "451 4.3.0 Try again later"
        return None

    smtp_sink.on_recipient = kill_the_worker_on_the_15th_message
    make_incident("Elevated API errors")

    wait_until(lambda: crash["done"], timeout=30, what="the worker to be killed")
    assert len(smtp_sink.received) == 14
    # The first batch reached the database; of the second, only the journal knows that four
    # messages were accepted before the worker died.
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 10
    [token] = set(
        Delivery.objects.filter(status=DeliveryStatus.SENDING).values_list("claim_token", flat=True)
    )
    accepted = journal_at(journal_url).read(token)
    assert sorted(Delivery.objects.get(pk=pk).subscriber.email for pk in accepted) == [
        address for address in recipients[10:14]
    ]

    start_worker(smtp_port=smtp_sink.port, beat=True, **env)
    smtp_sink.wait_for(
        lambda: len(smtp_sink.counts()) == len(recipients), timeout=40, what="every recipient"
    )
    wait_until(all_settled, timeout=15, what="every delivery to be recorded")
    time.sleep(1.5)  # one more sweep: nothing may be sent again
    assert smtp_sink.counts() == {address: 1 for address in recipients}
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(recipients)
    assert journal_at(journal_url).read(token) == {}  # read, recorded and discarded


def test_a_killed_workers_batch_is_finished_by_another_worker_with_one_duplicate_at_most(
    smtp_sink, start_worker
):
    """The one duplicate a crash can cause: the mail server accepted a message and the worker
    died before it could note so. That message comes again, with the same Message-ID, and
    nothing else does."""
    recipients = [f"person{n:02}@example.com" for n in range(20)]
    for address in recipients:
        make_subscriber(address)
    env = {
        "NOTIFY_EMAIL_BATCH_SIZE": "10",
        "NOTIFY_CLAIM_LEASE_SECONDS": "3",
        "NOTIFY_SWEEP_SECONDS": "1",
    }
    worker = start_worker(smtp_port=smtp_sink.port, **env)
    crash: dict[str, str] = {}

    def kill_the_worker_as_the_fifth_message_is_accepted(received) -> None:
        # Runs once the sink has kept the message, before the worker hears "250".
        if not crash and len(smtp_sink.received) == 5:
            crash["victim"] = received.recipient
            worker.kill()

    smtp_sink.on_message = kill_the_worker_as_the_fifth_message_is_accepted
    make_incident("Elevated API errors")
    wait_until(lambda: bool(crash), timeout=30, what="the worker to be killed")

    start_worker(smtp_port=smtp_sink.port, beat=True, **env)
    smtp_sink.wait_for(
        lambda: len(smtp_sink.counts()) == len(recipients), timeout=30, what="every recipient"
    )
    wait_until(all_settled, timeout=15, what="every delivery to be recorded")
    time.sleep(1.5)  # one more sweep: nothing may be sent again
    victim = crash["victim"]
    assert smtp_sink.counts() == {a: 2 if a == victim else 1 for a in recipients}
    [first, again] = [m["Message-ID"] for m in smtp_sink.messages_to(victim)]
    assert first == again
    others = {m["Message-ID"] for a in recipients if a != victim for m in smtp_sink.messages_to(a)}
    assert len(others) == len(recipients) - 1 and first not in others
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(recipients)


def test_a_live_worker_keeps_its_claim_through_a_message_slower_than_the_lease(
    smtp_sink, start_worker
):
    recipients = [f"person{n:02}@example.com" for n in range(4)]
    for address in recipients:
        make_subscriber(address)
    env = {"NOTIFY_CLAIM_LEASE_SECONDS": "3", "NOTIFY_SWEEP_SECONDS": "1"}
    # Two workers: while one sends, the other runs the sweeps that would take an expired
    # claim back.
    start_worker(smtp_port=smtp_sink.port, beat=True, **env)
    start_worker(smtp_port=smtp_sink.port, **env)
    slowed: list[str] = []

    def answer_the_first_recipient_after_two_leases(address: str) -> None:
        if not slowed:
            slowed.append(address)
            time.sleep(6)

    smtp_sink.on_recipient = answer_the_first_recipient_after_two_leases
    make_incident("Elevated API errors")

    smtp_sink.wait_for(
        lambda: len(smtp_sink.counts()) == len(recipients), timeout=40, what="every recipient"
    )
    wait_until(all_settled, timeout=15, what="every delivery to be recorded")
    time.sleep(1.5)  # one more sweep: nothing may be sent again
    assert smtp_sink.counts() == {address: 1 for address in recipients}
    assert set(Delivery.objects.values_list("attempts", "last_error")) == {(1, "")}


def test_it_saves_an_update_with_the_broker_down_and_mails_once_it_is_back(smtp_sink, start_worker):
    make_subscriber("ada@example.com")
    incident = make_incident("Elevated API errors")
    OutboxEvent.objects.update(processed_at=incident.created_at)  # announced already

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    point_app_at(f"redis://127.0.0.1:{closed_port}/2")
    started = time.monotonic()
    update = incident_services.incident_post_update(
        incident=incident, status="identified", body="We found the cause."
    )
    assert time.monotonic() - started < 3
    update.refresh_from_db()
    assert OutboxEvent.objects.get(update=update).processed_at is None

    point_app_at(REDIS_URL)  # the broker is back
    start_worker(smtp_port=smtp_sink.port, beat=True, NOTIFY_SWEEP_SECONDS="1")
    smtp_sink.wait_for_count(1, timeout=30)
    wait_until(all_settled, timeout=10, what="the delivery to be recorded")
    time.sleep(1.5)
    assert [r.message["Subject"] for r in smtp_sink.received] == [
        "[Identified] Elevated API errors"
    ]
