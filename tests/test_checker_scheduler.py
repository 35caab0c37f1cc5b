"""Scheduling: claims, jitter, the "checks" queue, and two workers that never probe a check twice
(on PostgreSQL with SKIP LOCKED, on SQLite with a compare-and-swap update)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from checker.models import Check, CheckState
from checker.scheduler import claim_candidates, claim_due, due_candidates, ensure_states
from checker.services import checks_run_due
from statuspage.celery import app
from tests.checker.factories import make_check
from tests.checker.servers import Reply, local_server
from tests.factories import make_component

ROOT = Path(__file__).resolve().parent.parent
NOW = timezone.now()
NO_HORIZON = dt.timedelta(0)


def due_checks(count: int, *, at: dt.datetime = NOW, **fields):
    component = make_component()
    checks = [make_check(component, **fields) for _ in range(count)]
    CheckState.objects.filter(owner__in=checks).update(next_run_at=at)
    return checks


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("CI must run the checker's claim tests on PostgreSQL (set DATABASE_URL)")
        pytest.skip("DATABASE_URL does not point at PostgreSQL")


def test_the_tick_and_the_rollups_run_on_the_checks_queue():
    for task in ("checker.run_due_checks", "checker.roll_up_results", "checker.prune_results"):
        assert app.amqp.router.route({}, task)["queue"].name == "checks"


@pytest.mark.django_db
def test_due_checks_are_claimed_once_and_moved_one_interval_on():
    checks = due_checks(3, interval_seconds=60)
    claims = claim_due(horizon=NO_HORIZON, limit=100, now=NOW)
    assert sorted(c.check.pk for c in claims) == sorted(c.pk for c in checks)
    for state in CheckState.objects.all():
        assert abs((state.next_run_at - NOW).total_seconds() - 60) <= 3
    assert claim_due(horizon=NO_HORIZON, limit=100, now=NOW) == []


@pytest.mark.django_db
def test_a_late_tick_does_not_stretch_the_interval_but_a_long_stop_skips_missed_runs():
    (late,) = due_checks(1, at=NOW - dt.timedelta(seconds=8), interval_seconds=60)
    (stopped,) = due_checks(1, at=NOW - dt.timedelta(hours=2), interval_seconds=60)
    claims = {c.check: c for c in claim_due(horizon=NO_HORIZON, limit=100, now=NOW)}
    assert claims[late].run_at == claims[stopped].run_at == NOW
    late_next = CheckState.objects.get(owner=late).next_run_at
    stopped_next = CheckState.objects.get(owner=stopped).next_run_at
    assert abs((late_next - NOW).total_seconds() - 52) <= 3
    assert abs((stopped_next - NOW).total_seconds() - 60) <= 3


@pytest.mark.django_db
def test_checks_due_soon_are_claimed_to_start_at_their_own_time():
    (soon,) = due_checks(1, at=NOW + dt.timedelta(seconds=4))
    due_checks(1, at=NOW + dt.timedelta(seconds=30))
    (claim,) = claim_due(horizon=dt.timedelta(seconds=10), limit=100, now=NOW)
    assert claim.check == soon
    assert claim.run_at == NOW + dt.timedelta(seconds=4)


@pytest.mark.django_db
def test_paused_checks_are_never_claimed():
    due_checks(2, is_active=False)
    assert claim_due(horizon=NO_HORIZON, limit=100, now=NOW) == []


@pytest.mark.django_db
def test_new_checks_are_spread_over_their_first_interval():
    component = make_component()
    Check.objects.bulk_create(
        [
            Check(component=component, url=f"http://127.0.0.1:9/{n}", timeout_seconds=5)
            for n in range(40)
        ]
    )
    assert ensure_states(NOW) == 40
    firsts = sorted((s.next_run_at - NOW).total_seconds() for s in CheckState.objects.all())
    assert firsts[0] >= 0
    assert firsts[-1] <= 60
    assert len({round(t, 3) for t in firsts}) == 40
    assert firsts[-1] - firsts[0] > 20


@pytest.mark.django_db
def test_jitter_keeps_checks_created_together_from_firing_in_lockstep():
    due_checks(30, interval_seconds=60)
    claim_due(horizon=NO_HORIZON, limit=100, now=NOW)
    nexts = [s.next_run_at for s in CheckState.objects.all()]
    assert len(set(nexts)) == 30
    assert max(nexts) - min(nexts) > dt.timedelta(seconds=1)


@pytest.mark.django_db
def test_two_workers_that_read_the_same_due_checks_take_each_only_once():
    due_checks(5)
    first_read = due_candidates(until=NOW, limit=100)
    second_read = due_candidates(until=NOW, limit=100)
    first = claim_candidates(first_read, now=NOW)
    second = claim_candidates(second_read, now=NOW)
    assert len(first) == 5
    assert second == []


def test_two_workers_on_sqlite_never_probe_a_check_twice(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tests.checker.claim_race", str(tmp_path / "race.sqlite3"), "120"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CHECKER_TICK_SECONDS": "1"},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert set(report["hits"].values()) == {1}
    assert sum(report["probed"]) == 120


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_postgresql_never_probe_a_check_twice(on_postgresql, settings):
    settings.CHECKER_TICK_SECONDS = 1
    with local_server() as server:
        component = make_component()
        for number in range(150):
            server.routes[f"/c/{number}"] = Reply()
            make_check(component, url=server.url(f"/c/{number}"))
        cutoff = timezone.now() - dt.timedelta(seconds=1)
        CheckState.objects.update(next_run_at=cutoff)
        start = threading.Barrier(2)
        probed = [0, 0]

        def worker(index: int) -> None:
            start.wait()
            try:
                # Both keep going while anything is due: losing one race is no reason to stop.
                while CheckState.objects.filter(next_run_at__lte=cutoff).exists():
                    probed[index] += checks_run_due(limit=10)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        hits = [server.hits(f"/c/{n}") for n in range(150)]
    assert set(hits) == {1}
    assert sum(probed) == 150
    assert all(probed), "both workers should have taken a share"


@pytest.mark.django_db(transaction=True)
def test_skip_locked_takes_other_checks_without_waiting_for_a_busy_worker(on_postgresql):
    checks = due_checks(10)
    busy = [c.pk for c in checks[:4]]
    locked, release = threading.Event(), threading.Event()

    def busy_worker() -> None:
        try:
            with transaction.atomic():
                list(CheckState.objects.select_for_update().filter(pk__in=busy))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=busy_worker)
    thread.start()
    try:
        assert locked.wait(5)
        started = time.monotonic()
        claims = claim_due(horizon=NO_HORIZON, limit=100, now=NOW)
        assert time.monotonic() - started < 2
        assert sorted(c.check.pk for c in claims) == sorted(c.pk for c in checks[4:])
    finally:
        release.set()
        thread.join(10)
