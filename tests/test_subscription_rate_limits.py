"""Subscription rate limits that page traffic cannot reset, IPv6 clients counted by /64, the
per-domain fuse, and the pruning of unconfirmed subscribers and ended windows."""

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from notifications import ratelimit
from notifications.models import RateLimitCounter, Subscriber
from notifications.subscriptions import subscribers_prune_unconfirmed
from notifications.tasks import prune_subscriptions
from tests.notifications.factories import make_subscriber

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscriptions/"


def subscribe(client: Client, email: str, **extra: Any) -> Any:
    return client.post(SUBSCRIBE, {"email": email}, **extra)


@pytest.fixture
def small_file_cache(settings, tmp_path):
    # The default file cache, with a cull threshold low enough for a test to reach; culling
    # empties it, as a cull can for any entry.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 30, "CULL_FREQUENCY": 0},
        }
    }


def test_a_cache_culled_by_other_entries_does_not_reset_the_address_limit(
    client, settings, small_file_cache
):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL = 2
    assert subscribe(client, "ada@example.com").status_code == 200
    assert subscribe(client, "ada@example.com").status_code == 200
    cache.set("before-the-crowd", 1, timeout=3600)
    # What distinct public URLs do to the shared cache: more entries than it keeps.
    for n in range(40):
        cache.set(f"page-{uuid.uuid4().hex}-{n}", b"<svg/>", timeout=3600)
    assert cache.get("before-the-crowd") is None
    assert subscribe(client, "ada@example.com").status_code == 429


def test_clearing_the_cache_does_not_reset_the_client_limit(client, settings):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP = 2
    subscribe(client, "a@example.com")
    subscribe(client, "b@example.com")
    cache.clear()
    assert subscribe(client, "c@example.com").status_code == 429
    assert not Subscriber.objects.filter(email="c@example.com").exists()


def test_ipv6_clients_in_one_64_share_a_limit(client, settings):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP = 2
    assert subscribe(client, "a@example.com", REMOTE_ADDR="2001:db8:1:2::1").status_code == 200
    assert subscribe(client, "b@example.com", REMOTE_ADDR="2001:db8:1:2::ff").status_code == 200
    third = subscribe(client, "c@example.com", REMOTE_ADDR="2001:db8:1:2:abcd::9")
    assert third.status_code == 429
    other_network = subscribe(client, "c@example.com", REMOTE_ADDR="2001:db8:1:3::1")
    assert other_network.status_code == 200


def test_an_ipv4_mapped_address_counts_as_its_ipv4_client(client, settings):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP = 1
    assert subscribe(client, "a@example.com", REMOTE_ADDR="203.0.113.7").status_code == 200
    mapped = subscribe(client, "b@example.com", REMOTE_ADDR="::ffff:203.0.113.7")
    assert mapped.status_code == 429


def test_the_counter_table_holds_no_address_in_clear(client):
    # A name with letters no hexadecimal digest holds, so a chance match cannot pass for a leak.
    subscribe(client, "quinn@example.com", REMOTE_ADDR="203.0.113.7")
    keys = " ".join(RateLimitCounter.objects.values_list("key", flat=True))
    assert "quinn" not in keys and "203.0.113.7" not in keys and "example.com" not in keys


def test_sign_ups_for_one_domain_stop_at_the_hourly_fuse(client, settings):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_DOMAIN = 3
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP = 1000
    for n in range(3):
        response = subscribe(client, f"p{n}@example.com", REMOTE_ADDR=f"198.51.100.{n}")
        assert response.status_code == 200
    refused = subscribe(client, "p9@EXAMPLE.com", REMOTE_ADDR="198.51.100.9")
    assert refused.status_code == 429
    assert "addresses at this domain" in refused.content.decode()
    assert not Subscriber.objects.filter(email="p9@example.com").exists()
    assert subscribe(client, "p9@example.net", REMOTE_ADDR="198.51.100.9").status_code == 200


def test_a_limit_opens_again_when_its_window_ends():
    for _ in range(2):
        assert ratelimit.hit("test", "k", limit=2).allowed
    assert not ratelimit.hit("test", "k", limit=2).allowed
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1)):
        assert ratelimit.hit("test", "k", limit=2).allowed


def test_pruning_deletes_unconfirmed_subscribers_past_their_window_only(client, settings):
    settings.NOTIFY_CONFIRM_MAX_AGE_HOURS = 48
    subscribe(client, "stale@example.com")
    subscribe(client, "fresh@example.com")
    active = make_subscriber("active@example.com")
    departed = make_subscriber("departed@example.com", unsubscribed_at=timezone.now())
    later = timezone.now() + dt.timedelta(hours=49)
    with time_machine.travel(later - dt.timedelta(hours=2)):
        # Asking again starts a new window.
        subscribe(client, "fresh@example.com")

    with time_machine.travel(later):
        assert subscribers_prune_unconfirmed() == 1

    remaining = set(Subscriber.objects.values_list("email", flat=True))
    assert remaining == {"fresh@example.com", active.email, departed.email}


def test_the_pruning_task_also_drops_ended_rate_limit_windows(client):
    subscribe(client, "ada@example.com")
    assert RateLimitCounter.objects.exists()
    with time_machine.travel(timezone.now() + dt.timedelta(days=3)):
        prune_subscriptions()
    assert not RateLimitCounter.objects.exists()
    assert not Subscriber.objects.exists()
