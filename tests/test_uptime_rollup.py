"""The daily uptime rollup kept by the status services, and the downtime rule."""

import datetime as dt

import pytest
import time_machine

from statuspage.models import UptimeDay
from statuspage.services import component_set_status
from statuspage.uptime import downtime_seconds, split_by_day, uptime_bars
from tests.factories import make_component

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_downtime_counts_major_fully_and_partial_at_three_tenths():
    assert downtime_seconds(major_outage=600, partial_outage=1000) == 900


def test_a_stretch_is_cut_at_midnight():
    pieces = list(split_by_day(at(1, 23), at(3, 1)))
    assert pieces == [
        (dt.date(2026, 3, 1), 3600),
        (dt.date(2026, 3, 2), 86400),
        (dt.date(2026, 3, 3), 3600),
    ]


def test_a_closed_outage_is_rolled_up_into_its_days():
    with time_machine.travel(at(1, 0), tick=False):
        api = make_component("API", created_at=at(1, 0))
    with time_machine.travel(at(1, 23), tick=False):
        component_set_status(component=api, status="major_outage")
    with time_machine.travel(at(2, 0, 30), tick=False):
        component_set_status(component=api, status="partial_outage")
    with time_machine.travel(at(2, 1, 30), tick=False):
        component_set_status(component=api, status="operational")

    days = {d.date.day: d for d in UptimeDay.objects.filter(component=api)}
    assert days[1].major_outage_seconds == 3600
    assert days[2].major_outage_seconds == 1800
    assert days[2].partial_outage_seconds == 3600


def test_the_open_stretch_is_added_at_read_time():
    with time_machine.travel(at(1, 0), tick=False):
        api = make_component("API", created_at=at(1, 0))
    with time_machine.travel(at(3, 10), tick=False):
        component_set_status(component=api, status="major_outage")
    now = at(3, 12)
    bars = uptime_bars([api], UptimeDay.objects.filter(component=api), days=3, now=now)
    bar = bars[api.pk]
    assert [d.date.day for d in bar.days] == [1, 2, 3]
    assert bar.days[-1].major_outage_seconds == 7200
    assert bar.days[-1].level == "partial"  # 2 hours of downtime
    existed = (now - at(1, 0)).total_seconds()
    assert bar.uptime_percent == pytest.approx(100 * (1 - 7200 / existed))


def test_a_bar_keeps_a_record_only_of_the_days_with_something_recorded():
    with time_machine.travel(at(1, 0), tick=False):
        api = make_component("API", created_at=at(2, 0))
    with time_machine.travel(at(3, 10), tick=False):
        component_set_status(component=api, status="degraded_performance")
    with time_machine.travel(at(3, 11), tick=False):
        component_set_status(component=api, status="operational")

    bar = uptime_bars([api], UptimeDay.objects.filter(component=api), days=5, now=at(5, 12))[api.pk]

    assert bar.tracked_from == 1  # March 1 was before the component existed
    assert list(bar.recorded) == [2]
    assert [(d.date.day, d.tracked, d.level) for d in bar.days] == [
        (1, False, "nodata"),
        (2, True, "operational"),
        (3, True, "degraded"),
        (4, True, "operational"),
        (5, True, "operational"),
    ]


def test_uptime_counts_only_the_time_the_component_existed():
    with time_machine.travel(at(5, 0), tick=False):
        api = make_component("API", created_at=at(5, 0))
    with time_machine.travel(at(5, 6), tick=False):
        component_set_status(component=api, status="partial_outage")
    with time_machine.travel(at(5, 16), tick=False):
        component_set_status(component=api, status="operational")
    now = at(6, 0)
    bar = uptime_bars([api], UptimeDay.objects.filter(component=api), days=90, now=now)[api.pk]
    assert sum(1 for d in bar.days if d.tracked) == 2  # the 5th, and the 6th which just began
    assert bar.days[0].level == "nodata"
    # 10 hours of partial outage weigh 3 hours, over the 24 hours the component existed.
    assert bar.uptime_percent == pytest.approx(100 * (1 - 3 / 24))


def test_degraded_and_maintenance_do_not_count_as_downtime():
    with time_machine.travel(at(1, 0), tick=False):
        api = make_component("API", created_at=at(1, 0))
    with time_machine.travel(at(1, 1), tick=False):
        component_set_status(component=api, status="degraded_performance")
    with time_machine.travel(at(1, 5), tick=False):
        component_set_status(component=api, status="under_maintenance")
    with time_machine.travel(at(1, 9), tick=False):
        component_set_status(component=api, status="operational")
    bar = uptime_bars([api], UptimeDay.objects.filter(component=api), days=1, now=at(1, 12))[api.pk]
    day = bar.days[0]
    assert day.degraded_seconds == 4 * 3600
    assert day.maintenance_seconds == 4 * 3600
    assert day.downtime_seconds == 0
    assert day.level == "degraded"
    assert bar.uptime_percent == 100


def test_days_follow_the_page_time_zone(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    with time_machine.travel(at(1, 0), tick=False):
        api = make_component("API", created_at=at(1, 0))
    # 06:00-09:00 UTC is 23:00-02:00 in Los Angeles (PDT, UTC-7, since March 8): two local days.
    with time_machine.travel(at(10, 6), tick=False):
        component_set_status(component=api, status="major_outage")
    with time_machine.travel(at(10, 9), tick=False):
        component_set_status(component=api, status="operational")
    days = {d.date: d.major_outage_seconds for d in UptimeDay.objects.filter(component=api)}
    assert days == {dt.date(2026, 3, 9): 3600, dt.date(2026, 3, 10): 7200}


def test_a_bar_level_follows_the_downtime():
    from statuspage.uptime import DayBar

    def level(*, major_outage_seconds: float = 0, partial_outage_seconds: float = 0) -> str:
        return DayBar(
            date=dt.date(2026, 1, 1),
            tracked=True,
            major_outage_seconds=major_outage_seconds,
            partial_outage_seconds=partial_outage_seconds,
        ).level

    assert level() == "operational"
    assert level(major_outage_seconds=60) == "minor"
    assert level(major_outage_seconds=3600) == "partial"
    assert level(partial_outage_seconds=10 * 3600) == "partial"
    assert level(major_outage_seconds=5 * 3600) == "major"
    assert DayBar(date=dt.date(2026, 1, 1), tracked=False).level == "nodata"


def test_setting_the_same_status_records_nothing():
    api = make_component("API")
    assert component_set_status(component=api, status="operational") is None
    assert not api.status_changes.exists()
