"""The database refuses checks and results that make no sense, whoever writes them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from checker.models import Check, CheckResult, CheckRollup, CheckState, CheckTransition
from tests.checker.factories import make_check
from tests.factories import make_component

pytestmark = pytest.mark.django_db


def refused(callable_) -> bool:
    try:
        with transaction.atomic():
            callable_()
    except IntegrityError:
        return True
    return False


def new_check(**fields) -> None:
    fields.setdefault("url", "https://api.example.test/health")
    fields.setdefault("timeout_seconds", 5)
    Check.objects.create(component=make_component(), **fields)


def test_a_sound_check_is_accepted():
    assert not refused(lambda: new_check())


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "smoke-signal"},
        {"method": "BREW"},
        {"incident_mode": "shout"},
        {"outage_status": "operational"},
        {"interval_seconds": 0},
        {"interval_seconds": 9},
        {"timeout_seconds": 0},
        {"timeout_seconds": 60, "interval_seconds": 60},
        {"failure_threshold": 0},
        {"success_threshold": 0},
        {"failure_threshold": 21},
        {"degraded_latency_ms": 0},
        {"url": ""},
        {"kind": "tcp", "host": "db.internal", "port": None},
        {"kind": "tls", "host": "", "port": 443},
        {"kind": "tcp", "host": "db.internal", "port": 70000},
        {"kind": "upstream", "upstream_url": "https://status.acme.test", "upstream_component": ""},
    ],
)
def test_a_check_that_makes_no_sense_is_refused(fields):
    assert refused(lambda: new_check(**fields))


def test_a_state_change_must_change_something_and_name_known_states():
    check = make_check()
    now = timezone.now()
    assert refused(
        lambda: CheckTransition.objects.create(owner=check, at=now, from_state="up", to_state="up")
    )
    assert refused(
        lambda: CheckTransition.objects.create(owner=check, at=now, from_state="up", to_state="meh")
    )


def test_a_result_has_a_known_level_and_a_state_a_known_name():
    check = make_check()
    now = timezone.now()
    assert refused(lambda: CheckResult.objects.create(owner=check, at=now, level=7))
    assert refused(lambda: CheckState.objects.filter(owner=check).update(state="sleepy"))


def test_one_rollup_row_per_check_and_month():
    check = make_check()
    month = dt.date(2026, 3, 1)
    CheckRollup.objects.create(owner=check, month=month, hours=b"", days=b"")
    assert refused(
        lambda: CheckRollup.objects.create(owner=check, month=month, hours=b"", days=b"")
    )
