"""The checker's own wording of how long an outage lasted."""

from __future__ import annotations

import datetime as dt

import time_machine

from checker.messages import resolution

DAY = dt.datetime(2026, 3, 12, tzinfo=dt.UTC)


def at(hour: int, minute: int, second: int = 0) -> dt.datetime:
    return DAY.replace(hour=hour, minute=minute, second=second)


@time_machine.travel(DAY.replace(hour=12), tick=False)
def test_an_outage_within_one_minute_gives_its_seconds_and_says_less_than_a_minute():
    text = resolution(start=at(7, 6, 10), end=at(7, 6, 50), causes=["HTTP 500"])
    assert text == "From 07:06:10 to 07:06:50 UTC (less than a minute), HTTP 500. They pass again."


@time_machine.travel(DAY.replace(hour=12), tick=False)
def test_a_short_outage_across_a_minute_says_less_than_a_minute():
    text = resolution(start=at(7, 6, 40), end=at(7, 7, 20), causes=["HTTP 500"])
    assert text == "From 07:06:40 to 07:07:20 UTC (less than a minute), HTTP 500. They pass again."


@time_machine.travel(DAY.replace(hour=12), tick=False)
def test_longer_outages_keep_minutes():
    text = resolution(start=at(4, 44), end=at(4, 47), causes=["HTTP 500"])
    assert text == "From 04:44 to 04:47 UTC (3 minutes), HTTP 500. They pass again."


@time_machine.travel(DAY.replace(hour=12), tick=False)
def test_a_short_outage_across_midnight_names_both_days():
    start = DAY - dt.timedelta(seconds=20)
    text = resolution(start=start, end=DAY + dt.timedelta(seconds=15), causes=["HTTP 500"])
    assert text == (
        "From Mar 11, 23:59:40 to Mar 12, 00:00:15 UTC (less than a minute), HTTP 500. "
        "They pass again."
    )
