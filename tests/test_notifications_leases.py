"""Claim leases: a worker renews its claim while the batch runs, the sweeper takes back only the
claims whose lease ran out, and a worker whose claim was taken back stops."""

import datetime as dt
import time

import pytest
import time_machine
from django.utils import timezone

from notifications import claims, sweeper
from notifications.models import Delivery, DeliveryStatus, SubscriberKind
from tests.factories import make_incident
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import fan_out_pending

pytest_plugins = ["tests.notifications.plugin"]


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def claimed_batch(count: int = 2) -> claims.Claim:
    for n in range(count):
        make_subscriber(f"person{n}@example.com")
    make_incident()
    fan_out_pending()
    return claims.deliveries_claim(channel=SubscriberKind.EMAIL, limit=10)


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_batch_runs_and_lost_once_taken_back():
    claim = claimed_batch()
    [first] = {d.claimed_at for d in Delivery.objects.all() if d.claimed_at}

    with claims.ClaimLease(claim.token, seconds=0.3) as lease:
        wait_until(lambda: lease.renewals >= 2, timeout=10, what="two renewals")
        [renewed] = {d.claimed_at for d in Delivery.objects.all() if d.claimed_at}
        assert renewed > first
        assert not lease.lost

        Delivery.objects.update(status=DeliveryStatus.PENDING, claim_token="", claimed_at=None)
        wait_until(lambda: lease.lost, timeout=10, what="the lease to be lost")


@pytest.mark.django_db
def test_the_sweeper_takes_back_a_claim_only_once_its_lease_ran_out(settings):
    settings.NOTIFY_CLAIM_LEASE_SECONDS = 45
    claim = claimed_batch()
    claimed_at = Delivery.objects.values_list("claimed_at", flat=True).first()
    assert claimed_at is not None

    with time_machine.travel(claimed_at + dt.timedelta(seconds=44)):
        assert sweeper.outbox_sweep().released == 0
    assert set(Delivery.objects.values_list("claim_token", flat=True)) == {claim.token}

    with time_machine.travel(claimed_at + dt.timedelta(seconds=46)):
        assert sweeper.outbox_sweep().released == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


@pytest.mark.django_db
def test_a_dead_workers_claim_is_taken_back_within_two_minutes_by_default(settings):
    """The lease plus one sweep interval, with the defaults, is under two minutes."""
    assert settings.NOTIFY_CLAIM_LEASE_SECONDS + settings.NOTIFY_SWEEP_SECONDS < 120
    claimed_batch(1)
    later = timezone.now() + dt.timedelta(
        seconds=settings.NOTIFY_CLAIM_LEASE_SECONDS + settings.NOTIFY_SWEEP_SECONDS
    )
    with time_machine.travel(later):
        assert sweeper.outbox_sweep().released == 1
