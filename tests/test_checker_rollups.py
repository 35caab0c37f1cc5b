"""Results stay small: raw results for a few days, packed hourly and daily rollups for ever."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import time_machine

from checker.models import CheckResult, CheckRollup, Level, RollupMark, RollupPeriod
from checker.rollups import (
    Figures,
    MonthSeries,
    results_prune,
    roll_up,
    rollups_advance,
    series,
    summarize,
)
from tests.checker.factories import make_check

D0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_figures_count_failures_and_take_the_mean_and_the_nearest_rank_p95():
    samples: list[tuple[int, int | None]] = [(Level.UP, ms) for ms in range(10, 200, 10)]
    samples += [(Level.DOWN, None), (Level.DEGRADED, 900)]
    figures = summarize(samples)  # 19 answers of 10 … 190 ms, a failure, a slow one
    assert figures == Figures(count=21, failures=1, degraded=1, mean_ms=140, p95_ms=190)


def test_a_month_of_figures_packs_and_unpacks_unchanged():
    month = MonthSeries(31 * 24)
    month.set(0, Figures(count=60, failures=2, degraded=1, mean_ms=123, p95_ms=456))
    month.set(743, Figures(count=6, failures=6, degraded=0, mean_ms=None, p95_ms=None))
    month.set(5, Figures(count=60, failures=0, degraded=0, mean_ms=70_000, p95_ms=70_000))
    again = MonthSeries.decode(month.encode(), 31 * 24)
    assert again.get(0) == Figures(count=60, failures=2, degraded=1, mean_ms=123, p95_ms=456)
    assert again.get(743) == Figures(count=6, failures=6, degraded=0, mean_ms=None, p95_ms=None)
    capped = Figures(count=60, failures=0, degraded=0, mean_ms=0xFFFE, p95_ms=0xFFFE)
    assert again.get(5) == capped  # not wrapped
    assert again.get(1) is None


def test_a_year_of_rollups_for_a_thousand_checks_fits_in_50_mb():
    rng = random.Random(7)
    hours, days = MonthSeries(31 * 24), MonthSeries(31)
    for slot in range(31 * 24):
        mean = round(rng.gauss(120, 15))
        hours.set(slot, Figures(60, rng.random() < 0.01, 0, mean, mean + rng.randint(20, 90)))
    for slot in range(31):
        mean = round(rng.gauss(120, 5))
        days.set(slot, Figures(1440, rng.randint(0, 3), 0, mean, mean + 70))
    month_bytes = len(hours.encode()) + len(days.encode())
    row_overhead = 120  # tuple header, id, check, month, index entry
    yearly = (month_bytes + row_overhead) * 12 * 1000
    assert yearly < 50 * 1024 * 1024, yearly


@pytest.mark.django_db
def test_an_hour_rolls_up_from_the_raw_results():
    one, two = make_check(), make_check()
    CheckResult.objects.bulk_create(
        [
            CheckResult(owner=one, at=D0 + dt.timedelta(minutes=m), level=0, latency_ms=100 + m)
            for m in range(60)
        ]
        + [
            CheckResult(owner=two, at=D0 + dt.timedelta(minutes=m), level=2, error="refused")
            for m in range(3)
        ]
        + [CheckResult(owner=one, at=D0 + HOUR, level=0, latency_ms=1)]  # the next hour
    )
    assert roll_up(RollupPeriod.HOUR, D0) == 2
    figures = series([one.pk, two.pk], period=RollupPeriod.HOUR, start=D0, end=D0 + 2 * HOUR)
    (first_hour, first), (_, second) = figures[one.pk]
    assert first_hour == D0
    assert first == Figures(count=60, failures=0, degraded=0, mean_ms=130, p95_ms=156)
    assert second is None
    assert figures[two.pk][0][1] == Figures(
        count=3, failures=3, degraded=0, mean_ms=None, p95_ms=None
    )
    assert CheckRollup.objects.count() == 2


@pytest.mark.django_db
def test_closed_hours_and_days_are_rolled_up_once(settings):
    settings.CHECKER_RESULT_RETENTION_DAYS = 3
    check = make_check()
    CheckResult.objects.bulk_create(
        [
            CheckResult(owner=check, at=D0 + dt.timedelta(minutes=10 * n), level=0, latency_ms=50)
            for n in range(6 * 30)  # 30 hours, every 10 minutes
        ]
    )
    with time_machine.travel(D0 + dt.timedelta(days=1, hours=7), tick=False):
        first = rollups_advance()
        again = rollups_advance()
    assert first["hours"] >= 30
    assert first["days"] >= 1
    assert again == {"hours": 0, "days": 0}
    assert RollupMark.objects.filter(period=RollupPeriod.DAY, start=D0).exists()
    (_, day), (_, next_day) = series(
        [check.pk], period=RollupPeriod.DAY, start=D0, end=D0 + dt.timedelta(days=2)
    )[check.pk]
    assert day == Figures(count=144, failures=0, degraded=0, mean_ms=50, p95_ms=50)
    assert next_day is None  # not over yet


@pytest.mark.django_db
def test_pruning_deletes_old_raw_results_and_keeps_the_rollups(settings):
    settings.CHECKER_RESULT_RETENTION_DAYS = 7
    check = make_check()
    old = D0 - dt.timedelta(days=9)
    CheckResult.objects.bulk_create(
        [
            CheckResult(owner=check, at=old + dt.timedelta(minutes=m), level=0, latency_ms=80)
            for m in range(5)
        ]
        + [CheckResult(owner=check, at=D0 - dt.timedelta(days=1), level=0, latency_ms=90)]
    )
    roll_up(RollupPeriod.DAY, old.replace(hour=0))
    with time_machine.travel(D0, tick=False):
        assert results_prune(chunk=2) == 5
    assert list(CheckResult.objects.values_list("latency_ms", flat=True)) == [90]
    ((_, kept),) = series(
        [check.pk], period=RollupPeriod.DAY, start=old, end=old + dt.timedelta(days=1)
    )[check.pk]
    assert kept is not None and kept.count == 5 and kept.mean_ms == 80
