"""Stored email subscribers move to their canonical spelling, one row per mailbox."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from notifications.models import Subscriber
from tests.factories import make_component
from tests.notifications.factories import make_subscriber

pytestmark = pytest.mark.django_db


def test_existing_rows_are_merged_under_their_canonical_spelling():
    migration = importlib.import_module("notifications.migrations.0004_canonical_emails")
    api, web = make_component("API"), make_component("Web")
    pending = make_subscriber('"victim"@Example.ORG', confirmed=False)
    now = timezone.now()
    active = make_subscriber("victim@example.org.", components=[api])
    also_active = make_subscriber("Victim@EXAMPLE.org", components=[web])
    Subscriber.objects.filter(pk=also_active.pk).update(confirmed_at=now - dt.timedelta(days=30))
    local = make_subscriber("ops@localhost")
    other = make_subscriber("Someone@Exämple.org")

    migration.canonicalise(apps, None)

    emails = set(Subscriber.objects.values_list("email", flat=True))
    assert emails == {"victim@example.org", "ops@localhost", "Someone@xn--exmple-cua.org"}
    # The most recently confirmed of the active spellings stays, with both choices.
    kept = Subscriber.objects.get(email="victim@example.org")
    assert kept.pk == active.pk
    assert set(kept.components.all()) == {api, web}
    assert not Subscriber.objects.filter(pk__in=[pending.pk, also_active.pk]).exists()
    local.refresh_from_db()
    assert local.disabled_at is not None and "public internet" in local.disabled_reason
    assert Subscriber.objects.get(pk=other.pk).is_active
