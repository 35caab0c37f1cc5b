"""The send journal (file and Redis stores) and what it buys: a batch is written to the
database in a fixed number of queries whatever its size, and a worker that dies mid-batch
still sends nothing twice, because the sweeper reads the journal before retrying."""

import datetime as dt
import os
import socket
import time
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import claims, journal, sending, sweeper
from notifications.models import Delivery, DeliveryStatus, Subscriber, SubscriberKind
from notifications.transports import EmailTransport
from tests.factories import make_incident
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import deliver_everything, fan_out_pending, send_due
from tests.notifications.worker import REDIS_URL, redis_reachable

pytest_plugins = ["tests.notifications.plugin"]

AT = dt.datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=dt.UTC)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path) -> journal.Journal:
    if request.param == "file":
        return journal.FileJournal(tmp_path / "journal")
    if not redis_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return journal.RedisJournal(REDIS_URL)


# The stores


def test_it_reads_back_what_a_claim_appended_with_the_moments(store):
    token = uuid.uuid4().hex
    writer = store.writer(token)
    writer.append(7, AT)
    writer.append(9, AT + dt.timedelta(seconds=1))
    writer.close()
    assert store.read(token) == {7: AT, 9: AT + dt.timedelta(seconds=1)}
    assert store.read(uuid.uuid4().hex) == {}
    store.discard(token)
    assert store.read(token) == {}


def test_it_refuses_anything_but_a_claim_token_as_a_name(store):
    with pytest.raises(ValueError):
        store.writer("../../etc/passwd")
    with pytest.raises(ValueError):
        store.read("")


def test_it_ignores_a_line_cut_short_by_a_crash(tmp_path):
    store = journal.FileJournal(tmp_path)
    token = uuid.uuid4().hex
    (tmp_path / f"{token}.sent").write_text(f"3 {AT.timestamp()}\n4 17")
    assert store.read(token) == {3: AT}


def test_it_prunes_file_journals_nobody_came_back_for(tmp_path):
    store = journal.FileJournal(tmp_path)
    old, fresh = uuid.uuid4().hex, uuid.uuid4().hex
    for token in (old, fresh):
        writer = store.writer(token)
        writer.append(1, AT)
        writer.close()
    day_ago = time.time() - journal.RETENTION_SECONDS - 60
    os.utime(tmp_path / f"{old}.sent", (day_ago, day_ago))
    assert store.prune() == 1
    assert store.read(old) == {} and store.read(fresh) == {1: AT}


def test_it_expires_redis_journals_after_a_day():
    if not redis_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    store = journal.RedisJournal(REDIS_URL)
    token = uuid.uuid4().hex
    store.writer(token).append(1, AT)
    ttl = store.redis.ttl(store.PREFIX + token)
    store.discard(token)
    assert journal.RETENTION_SECONDS - 5 < ttl <= journal.RETENTION_SECONDS


# Batches


def queries_to_send(count: int, prefix: str) -> tuple[int, int]:
    for n in range(count):
        make_subscriber(f"{prefix}{n:04}@example.com")
    make_incident()
    fan_out_pending()
    with CaptureQueriesContext(connection) as captured:
        sent = send_due()
    Subscriber.objects.all().delete()
    return sent, len(captured)


@pytest.mark.django_db
def test_it_writes_a_batch_in_the_same_few_queries_whatever_its_size(smtp_sink, settings):
    settings.NOTIFY_EMAIL_BATCH_SIZE = 500
    queries_to_send(1, "warm")  # the page's branding is read once per process, then kept
    small = queries_to_send(5, "small")
    large = queries_to_send(300, "large")
    assert small[0] == 5 and large[0] == 300
    # One batch's claim, loading, message and outcomes, then one empty claim per channel.
    assert large[1] == small[1] <= 22
    assert len(smtp_sink.received) == 306


@pytest.mark.django_db
def test_it_records_each_delivery_at_the_moment_it_was_accepted(smtp_sink):
    make_subscriber("ada@example.com")
    make_subscriber("bob@example.com")
    make_incident()
    before = timezone.now()
    deliver_everything()
    after = timezone.now()
    rows = list(Delivery.objects.order_by("pk").values_list("status", "sent_at", "attempts"))
    assert [(status, attempts) for status, _, attempts in rows] == [("sent", 1), ("sent", 1)]
    first_sent, second_sent = (sent_at for _, sent_at, _ in rows)
    assert first_sent and second_sent
    assert before <= first_sent < second_sent <= after


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception`."""


@pytest.mark.django_db
def test_it_sends_nothing_twice_after_a_worker_dies_with_its_batch_unwritten(
    smtp_sink, settings, monkeypatch
):
    settings.NOTIFY_CLAIM_LEASE_SECONDS = 300
    recipients = [f"person{n}@example.com" for n in range(6)]
    for address in recipients:
        make_subscriber(address)
    make_incident()
    fan_out_pending()
    real_send = EmailTransport.send_bytes
    sent: list[str] = []

    def dies_on_the_fourth_message(self, **kwargs):
        if len(sent) == 3:
            raise WorkerKilled
        real_send(self, **kwargs)
        sent.append(kwargs["recipient"])

    monkeypatch.setattr(EmailTransport, "send_bytes", dies_on_the_fourth_message)
    with pytest.raises(WorkerKilled):
        sending.deliveries_send_batch(channel=SubscriberKind.EMAIL)
    monkeypatch.setattr(EmailTransport, "send_bytes", real_send)
    assert len(smtp_sink.received) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENDING}

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=301)):
        swept = sweeper.outbox_sweep()
        assert (swept.recovered, swept.released) == (3, 3)
        assert send_due() == 3
    assert smtp_sink.counts() == {address: 1 for address in recipients}
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 6
    first = Delivery.objects.get(subscriber__email=sent[0])
    assert (first.attempts, first.last_error) == (1, "")


@pytest.mark.django_db
def test_it_records_each_message_directly_when_the_journal_is_down(smtp_sink, settings):
    settings.NOTIFY_JOURNAL_URL = f"redis://127.0.0.1:{closed_port()}/0"
    for n in range(3):
        make_subscriber(f"person{n}@example.com")
    make_incident()
    assert deliver_everything() == 3
    assert len(smtp_sink.received) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.django_db
def test_it_leaves_a_claim_alone_while_its_journal_cannot_be_read(smtp_sink, settings, tmp_path):
    settings.NOTIFY_CLAIM_LEASE_SECONDS = 300
    make_subscriber("ada@example.com")
    make_incident()
    fan_out_pending()
    claims.deliveries_claim(channel=SubscriberKind.EMAIL, limit=10)  # and the worker died
    later = timezone.now() + dt.timedelta(seconds=301)

    settings.NOTIFY_JOURNAL_URL = f"redis://127.0.0.1:{closed_port()}/0"
    with time_machine.travel(later):
        assert sweeper.outbox_sweep().released == 0
    assert Delivery.objects.get().status == DeliveryStatus.SENDING

    settings.NOTIFY_JOURNAL_URL = f"file://{tmp_path / 'journal'}"
    with time_machine.travel(later):
        assert sweeper.outbox_sweep().released == 1
        assert send_due() == 1
    assert smtp_sink.counts() == {"ada@example.com": 1}


@pytest.mark.django_db
def test_it_gives_up_on_a_message_that_kills_its_worker_every_time(
    smtp_sink, settings, monkeypatch
):
    settings.NOTIFY_CLAIM_LEASE_SECONDS = 300
    settings.NOTIFY_MAX_ATTEMPTS = 3
    make_subscriber("poison@example.com")
    make_incident()
    fan_out_pending()

    def dies(self, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(EmailTransport, "send_bytes", dies)
    later = timezone.now()
    for attempt in range(1, 4):
        with time_machine.travel(later), pytest.raises(WorkerKilled):
            sending.deliveries_send_batch(channel=SubscriberKind.EMAIL)
        later += dt.timedelta(seconds=301)
        with time_machine.travel(later):
            swept = sweeper.outbox_sweep()
        assert (swept.recovered, swept.released) == (0, 1)
        delivery = Delivery.objects.get()
        assert delivery.attempts == attempt
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "The worker stopped while sending, too many times."
    assert smtp_sink.received == []
