"""The checker's database helpers: saving a field of many rows at once, each with its own value."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checker.db import update_rows
from checker.models import Check, CheckKind, CheckState, CheckStateName
from statuspage.bulk import ROWS_PER_UPDATE
from tests.factories import make_component

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def states(count: int) -> list[CheckState]:
    component = make_component()
    checks = Check.objects.bulk_create(
        Check(component=component, kind=CheckKind.HTTP, url=f"http://127.0.0.1:9/{n}")
        for n in range(count)
    )
    return CheckState.objects.bulk_create(CheckState(owner=c, next_run_at=NOW) for c in checks)


def test_update_rows_saves_each_rows_own_values_past_one_statements_worth():
    rows = states(ROWS_PER_UPDATE + 3)
    for n, state in enumerate(rows):
        state.next_run_at = NOW + dt.timedelta(seconds=n)
        state.state = CheckStateName.UP if n % 2 else CheckStateName.DOWN
    with CaptureQueriesContext(connection) as captured:
        update_rows(rows, ["next_run_at", "state"])
    assert len(captured) == 2
    saved = CheckState.objects.order_by("pk").values_list("pk", "next_run_at", "state")
    assert list(saved) == [(s.pk, s.next_run_at, s.state) for s in rows]


def test_update_rows_leaves_other_rows_and_fields_alone():
    first, second = states(2)
    first.next_run_at = NOW + dt.timedelta(hours=1)
    first.state = CheckStateName.UP  # changed in memory, not among the fields saved
    update_rows([first], ["next_run_at"])
    assert CheckState.objects.get(pk=first.pk).state == CheckStateName.UNKNOWN
    assert CheckState.objects.get(pk=first.pk).next_run_at == NOW + dt.timedelta(hours=1)
    assert CheckState.objects.get(pk=second.pk).next_run_at == NOW


def test_update_rows_of_nothing_runs_no_query():
    with CaptureQueriesContext(connection) as captured:
        update_rows([], ["next_run_at"])
    assert len(captured) == 0
