"""Response-time charts drawn as SVG on the server from the rollups (no chart library)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from checker import rollups
from checker.models import Check, RollupPeriod

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 30
RANGES = {
    "24h": (RollupPeriod.HOUR, 24, "the last 24 hours"),
    "7d": (RollupPeriod.HOUR, 24 * 7, "the last 7 days"),
    "90d": (RollupPeriod.DAY, 90, "the last 90 days"),
}
DEFAULT_RANGE = "24h"
SERIES_CLASSES = ("s1", "s2", "s3")


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    mean_path: str
    p95_path: str
    points: int
    legend_y: int


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)

    @property
    def label_x(self) -> int:
        return self.left - 6

    @property
    def legend_x(self) -> int:
        return self.left + 8

    @property
    def x_label_y(self) -> float:
        return self.bottom + 16

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


def _nice_ceiling(value: float) -> float:
    """The next of 1, 2, 5 × 10^k at or above `value`."""
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exponent:
            return float(step * exponent)
    return float(10 * exponent)


def _path(points: Sequence[tuple[float, float | None]]) -> str:
    """An SVG path through the points, broken where a value is missing."""
    parts: list[str] = []
    pen_down = False
    for x, y in points:
        if y is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return " ".join(parts)


def _label_ms(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def chart_end(range_key: str, now: dt.datetime | None = None) -> dt.datetime:
    """Where a range's chart ends: after the hour (or the UTC day) under way."""
    period = RANGES.get(range_key, RANGES[DEFAULT_RANGE])[0]
    now = (now or timezone.now()).astimezone(dt.UTC)
    if period == RollupPeriod.HOUR:
        return now.replace(minute=0, second=0, microsecond=0) + rollups.HOUR
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + rollups.DAY


def response_time_chart(
    checks: Sequence[Check], *, range_key: str = DEFAULT_RANGE, now: dt.datetime | None = None
) -> Chart:
    """Mean and p95 latency of up to three checks over a range (hourly or daily rollups)."""
    period, slots, phrase = RANGES.get(range_key, RANGES[DEFAULT_RANGE])
    step = rollups.HOUR if period == RollupPeriod.HOUR else rollups.DAY
    end = chart_end(range_key, now)
    start = end - slots * step
    checks = list(checks)[: len(SERIES_CLASSES)]
    data = rollups.series([c.pk for c in checks], period=period, start=start, end=end)

    highest = max(
        (
            figures.p95_ms or figures.mean_ms or 0
            for points in data.values()
            for _, figures in points
            if figures is not None
        ),
        default=0,
    )
    top_value = _nice_ceiling(highest * 1.05 or 100)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def x_of(index: int) -> float:
        return LEFT + plot_width * (index + 0.5) / slots

    def y_of(value: int | None) -> float | None:
        return (
            None if value is None else TOP + plot_height * (1 - min(value, top_value) / top_value)
        )

    series = []
    for number, (check, css) in enumerate(zip(checks, SERIES_CLASSES, strict=False)):
        points = data.get(check.pk, [])
        means = [(x_of(i), y_of(f.mean_ms if f else None)) for i, (_, f) in enumerate(points)]
        p95s = [(x_of(i), y_of(f.p95_ms if f else None)) for i, (_, f) in enumerate(points)]
        series.append(
            Series(
                name=check.label
                if len(checks) == 1
                else f"{check.label} ({check.get_kind_display()})",
                css=css,
                mean_path=_path(means),
                p95_path=_path(p95s),
                points=sum(1 for _, y in means if y is not None),
                legend_y=TOP + 12 + 14 * number,
            )
        )
    y_ticks = [
        Tick(position=TOP + plot_height * (1 - share), label=_label_ms(top_value * share))
        for share in (0, 0.5, 1)
    ]
    label_format = "%H:%M" if range_key == "24h" else "%b %d"
    x_ticks = [
        Tick(position=x_of(index), label=f"{(start + index * step):{label_format}}")
        for index in range(0, slots, max(1, slots // 4))
    ]
    names = ", ".join(check.label for check in checks) or "this component"
    return Chart(
        title=f"Response time of {names}",
        description=f"Mean and 95th percentile response time per "
        f"{'hour' if period == RollupPeriod.HOUR else 'day'} over {phrase}, in UTC.",
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        series=series,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )
