"""Rollups of raw results: hourly and daily count, failures, degraded, mean and p95 latency.

Raw results are kept for CHECKER_RESULT_RETENTION_DAYS; rollups for ever. To keep a year of
rollups for a thousand checks within tens of megabytes, one row holds a check's whole month:
each figure is an unsigned 16-bit number per slot (an hour or a day), stored column by column
and compressed with zlib. Counts fit (a check runs at most 360 times an hour, 8,640 a day) and
so do latencies in milliseconds (a probe's timeout is at most 60 s).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import zlib
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checker.db import lock_rows
from checker.models import (
    Check,
    CheckResult,
    CheckRollup,
    HostBackoff,
    Level,
    RollupMark,
    RollupPeriod,
)

FORMAT_VERSION = 1
COLUMNS = ("count", "failures", "degraded", "mean_ms", "p95_ms")
NONE = 0xFFFF  # no latency measured in that slot
CAP = 0xFFFE
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# Results of an hour may still be written this long after it ends (a tick's probes in flight).
LATE_WRITES = dt.timedelta(minutes=5)
CHECK_CHUNK = 200


@dataclass(frozen=True)
class Figures:
    count: int
    failures: int
    degraded: int
    mean_ms: int | None
    p95_ms: int | None

    @property
    def availability(self) -> float | None:
        return None if not self.count else 1 - self.failures / self.count


def summarize(samples: Sequence[tuple[int, int | None]]) -> Figures:
    """Figures of (level, latency_ms) samples; p95 by the nearest-rank method."""
    latencies = sorted(latency for _, latency in samples if latency is not None)
    mean = round(sum(latencies) / len(latencies)) if latencies else None
    p95 = latencies[math.ceil(0.95 * len(latencies)) - 1] if latencies else None
    return Figures(
        count=len(samples),
        failures=sum(1 for level, _ in samples if level == Level.DOWN),
        degraded=sum(1 for level, _ in samples if level == Level.DEGRADED),
        mean_ms=mean,
        p95_ms=p95,
    )


class MonthSeries:
    """The figures of every slot of one month (hours or days), packed for storage."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.columns = {name: array("H", [0] * slots) for name in COLUMNS}
        self.columns["mean_ms"] = array("H", [NONE] * slots)
        self.columns["p95_ms"] = array("H", [NONE] * slots)

    @classmethod
    def decode(cls, blob: bytes | memoryview | None, slots: int) -> MonthSeries:
        series = cls(slots)
        if not blob:
            return series
        raw = zlib.decompress(bytes(blob))
        if raw[0] != FORMAT_VERSION:
            raise ValueError(f"unknown rollup format {raw[0]}")
        values = array("H")
        values.frombytes(raw[1:])
        if len(values) != slots * len(COLUMNS):
            raise ValueError("rollup of the wrong size")
        for index, name in enumerate(COLUMNS):
            series.columns[name] = values[index * slots : (index + 1) * slots]
        return series

    def encode(self) -> bytes:
        values = array("H")
        for name in COLUMNS:
            values.extend(self.columns[name])
        return zlib.compress(bytes([FORMAT_VERSION]) + values.tobytes(), 9)

    def set(self, slot: int, figures: Figures) -> None:
        self.columns["count"][slot] = min(figures.count, CAP)
        self.columns["failures"][slot] = min(figures.failures, CAP)
        self.columns["degraded"][slot] = min(figures.degraded, CAP)
        self.columns["mean_ms"][slot] = (
            NONE if figures.mean_ms is None else min(figures.mean_ms, CAP)
        )
        self.columns["p95_ms"][slot] = NONE if figures.p95_ms is None else min(figures.p95_ms, CAP)

    def get(self, slot: int) -> Figures | None:
        count = self.columns["count"][slot]
        if not count:
            return None
        mean, p95 = self.columns["mean_ms"][slot], self.columns["p95_ms"][slot]
        return Figures(
            count=count,
            failures=self.columns["failures"][slot],
            degraded=self.columns["degraded"][slot],
            mean_ms=None if mean == NONE else mean,
            p95_ms=None if p95 == NONE else p95,
        )


def month_of(moment: dt.datetime | dt.date) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def days_in(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def hour_slot(moment: dt.datetime) -> int:
    return (moment.day - 1) * 24 + moment.hour


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def _samples(
    start: dt.datetime, end: dt.datetime, check_ids: Sequence[int]
) -> dict[int, list[tuple[int, int | None]]]:
    samples: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    rows = (
        CheckResult.objects.filter(owner_id__in=check_ids, at__gte=start, at__lt=end)
        .order_by()
        .values_list("owner_id", "level", "latency_ms")
    )
    for owner_id, level, latency in rows.iterator(chunk_size=20000):
        samples[owner_id].append((level, latency))
    return samples


def _store(month: dt.date, figures: dict[int, Figures], *, slot: int, period: str) -> None:
    """Write one slot of `month` for each check in `figures`."""
    field = "hours" if period == RollupPeriod.HOUR else "days"
    slots = days_in(month) * 24 if period == RollupPeriod.HOUR else days_in(month)
    with transaction.atomic():
        mine = CheckRollup.objects.filter(owner_id__in=list(figures), month=month)
        lock_rows(mine)
        rows = {row.owner_id: row for row in mine}
        created, updated = [], []
        for owner_id, values in figures.items():
            row = rows.get(owner_id)
            if row is None:
                row = CheckRollup(
                    owner_id=owner_id,
                    month=month,
                    hours=MonthSeries(days_in(month) * 24).encode(),
                    days=MonthSeries(days_in(month)).encode(),
                )
                created.append(row)
            else:
                updated.append(row)
            series = MonthSeries.decode(getattr(row, field), slots)
            series.set(slot, values)
            setattr(row, field, series.encode())
        CheckRollup.objects.bulk_create(created, batch_size=500)
        CheckRollup.objects.bulk_update(updated, [field], batch_size=500)


def roll_up(period: str, start: dt.datetime) -> int:
    """Compute the rollups of one hour or day (UTC) from raw results; returns checks rolled up."""
    start = _utc(start)
    end = start + (HOUR if period == RollupPeriod.HOUR else DAY)
    slot = hour_slot(start) if period == RollupPeriod.HOUR else start.day - 1
    check_ids = list(Check.objects.order_by("pk").values_list("pk", flat=True))
    done = 0
    for index in range(0, len(check_ids), CHECK_CHUNK):
        chunk = check_ids[index : index + CHECK_CHUNK]
        samples = _samples(start, end, chunk)
        figures = {owner_id: summarize(values) for owner_id, values in samples.items() if values}
        if figures:
            _store(month_of(start), figures, slot=slot, period=period)
            done += len(figures)
    return done


def rollups_advance(now: dt.datetime | None = None) -> dict[str, int]:
    """Roll up every closed hour and day not rolled up yet (within the raw results' retention),
    and the hour in progress so charts are current. Idempotent."""
    now = _utc(now or timezone.now())
    oldest = now - dt.timedelta(days=settings.CHECKER_RESULT_RETENTION_DAYS)
    settled = now - LATE_WRITES
    counts = {"hours": 0, "days": 0}

    marked_hours = set(
        RollupMark.objects.filter(period=RollupPeriod.HOUR, start__gte=oldest).values_list(
            "start", flat=True
        )
    )
    hour = oldest.replace(minute=0, second=0, microsecond=0) + HOUR
    while hour + HOUR <= settled:
        if hour not in marked_hours:
            roll_up(RollupPeriod.HOUR, hour)
            RollupMark.objects.get_or_create(period=RollupPeriod.HOUR, start=hour)
            counts["hours"] += 1
        hour += HOUR
    current = settled.replace(minute=0, second=0, microsecond=0)
    roll_up(RollupPeriod.HOUR, current)
    if current.hour != now.hour:
        roll_up(RollupPeriod.HOUR, current + HOUR)

    marked_days = set(
        RollupMark.objects.filter(period=RollupPeriod.DAY, start__gte=oldest).values_list(
            "start", flat=True
        )
    )
    day = oldest.replace(hour=0, minute=0, second=0, microsecond=0) + DAY
    while day + DAY <= settled:
        if day not in marked_days:
            roll_up(RollupPeriod.DAY, day)
            RollupMark.objects.get_or_create(period=RollupPeriod.DAY, start=day)
            counts["days"] += 1
        day += DAY
    return counts


def results_prune(now: dt.datetime | None = None, *, chunk: int = 20000) -> int:
    """Delete raw results older than the retention, a chunk at a time; returns rows deleted."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.CHECKER_RESULT_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            CheckResult.objects.filter(at__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            break
        count, _ = CheckResult.objects.filter(pk__in=ids).delete()
        deleted += count
    RollupMark.objects.filter(start__lt=cutoff - DAY).delete()
    HostBackoff.objects.filter(until__lt=now - DAY).delete()
    return deleted


def series(
    check_ids: Iterable[int], *, period: str, start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, Figures | None]]]:
    """Each check's figures per hour or day from `start` (inclusive) to `end` (exclusive)."""
    check_ids = list(check_ids)
    start, end = _utc(start), _utc(end)
    if period == RollupPeriod.HOUR:
        start = start.replace(minute=0, second=0, microsecond=0)
        step = HOUR
    else:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        step = DAY
    rows = CheckRollup.objects.filter(
        owner_id__in=check_ids, month__gte=month_of(start), month__lte=month_of(end)
    )
    decoded: dict[tuple[int, dt.date], MonthSeries] = {}
    for row in rows:
        if period == RollupPeriod.HOUR:
            decoded[row.owner_id, row.month] = MonthSeries.decode(
                row.hours, days_in(row.month) * 24
            )
        else:
            decoded[row.owner_id, row.month] = MonthSeries.decode(row.days, days_in(row.month))
    points: dict[int, list[tuple[dt.datetime, Figures | None]]] = {pk: [] for pk in check_ids}
    moment = start
    while moment < end:
        month = month_of(moment)
        slot = hour_slot(moment) if period == RollupPeriod.HOUR else moment.day - 1
        for pk in check_ids:
            month_series = decoded.get((pk, month))
            points[pk].append((moment, month_series.get(slot) if month_series else None))
        moment += step
    return points
