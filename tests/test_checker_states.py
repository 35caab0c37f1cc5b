"""Thresholds and flapping: one blip changes nothing; confirmed changes are rows of their own."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from checker.models import CheckState, CheckTransition, Level
from checker.states import Decision, Observation, decide, observe
from tests.checker.factories import feed, make_check

T0 = dt.datetime(2026, 3, 2, 4, 44, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
UP, DEGRADED, DOWN = Level.UP, Level.DEGRADED, Level.DOWN


def seen(*levels: int) -> list[Observation]:
    return [Observation(at=T0 + i * MINUTE, level=level) for i, level in enumerate(levels)]


def test_one_blip_changes_nothing():
    assert (
        decide(state="up", recent=seen(UP, DOWN), failure_threshold=3, success_threshold=2) is None
    )
    assert (
        decide(state="up", recent=seen(DOWN, DOWN, UP), failure_threshold=3, success_threshold=2)
        is None
    )


def test_enough_consecutive_failures_confirm_down_since_the_first():
    decision = decide(
        state="up", recent=seen(UP, DOWN, DOWN, DOWN), failure_threshold=3, success_threshold=2
    )
    assert decision == Decision(state="down", since=T0 + MINUTE)


def test_enough_consecutive_successes_confirm_recovery_since_the_first():
    decision = decide(
        state="down", recent=seen(DOWN, UP, UP), failure_threshold=3, success_threshold=2
    )
    assert decision == Decision(state="up", since=T0 + MINUTE)
    assert (
        decide(state="down", recent=seen(DOWN, DOWN, UP), failure_threshold=3, success_threshold=2)
        is None
    )


def test_slow_answers_confirm_degraded_and_failures_among_them_count_too():
    decision = decide(
        state="up", recent=seen(DEGRADED, DOWN, DEGRADED), failure_threshold=3, success_threshold=2
    )
    assert decision == Decision(state="degraded", since=T0)


def test_degraded_escalates_to_down_and_down_improves_to_degraded():
    assert decide(
        state="degraded",
        recent=seen(DEGRADED, DOWN, DOWN),
        failure_threshold=2,
        success_threshold=2,
    ) == Decision(state="down", since=T0 + MINUTE)
    assert decide(
        state="down",
        recent=seen(DOWN, DEGRADED, DEGRADED),
        failure_threshold=2,
        success_threshold=2,
    ) == Decision(state="degraded", since=T0 + MINUTE)


def test_a_new_check_is_up_at_its_first_success_but_needs_the_threshold_to_be_down():
    assert decide(
        state="unknown", recent=seen(UP), failure_threshold=3, success_threshold=2
    ) == Decision(state="up", since=T0)
    assert (
        decide(state="unknown", recent=seen(DOWN, DOWN), failure_threshold=3, success_threshold=2)
        is None
    )


def test_a_long_pause_starts_the_observations_afresh():
    recent = seen(DOWN, DOWN)
    later = Observation(at=T0 + dt.timedelta(hours=2), level=DOWN)
    assert observe(
        recent=recent, observation=later, size=3, stale_after=dt.timedelta(minutes=5)
    ) == [later]
    soon = Observation(at=T0 + 2 * MINUTE, level=DOWN)
    assert observe(
        recent=recent, observation=soon, size=3, stale_after=dt.timedelta(minutes=5)
    ) == [
        *recent,
        soon,
    ]


needs_db = pytest.mark.django_db


@needs_db
def test_a_confirmed_change_is_recorded_with_when_from_to_and_why():
    check = make_check(failure_threshold=3)
    with time_machine.travel(T0, tick=False):
        for minute, level in enumerate([UP, DOWN, DOWN, DOWN]):
            feed(check, level, T0 + minute * MINUTE, error="connection timed out" if level else "")
    up, down = CheckTransition.objects.filter(owner=check).order_by("at")
    assert (up.from_state, up.to_state, up.at) == ("unknown", "up", T0)
    assert (down.from_state, down.to_state, down.at) == ("up", "down", T0 + MINUTE)
    assert down.reason == "connection timed out"
    state = CheckState.objects.get(owner=check)
    assert state.state == "down"
    assert state.problem_since == T0 + MINUTE
    assert state.desired_status == "major_outage"


@needs_db
def test_blips_leave_no_state_change_but_flapping_leaves_one_row_per_flip():
    check = make_check(failure_threshold=2, success_threshold=2)
    levels = [UP, DOWN, UP, DOWN, UP, UP]  # blips only
    levels += [DOWN, DOWN, UP, UP, DOWN, DOWN, UP, UP]  # flapping
    with time_machine.travel(T0, tick=False):
        for minute, level in enumerate(levels):
            feed(check, level, T0 + minute * MINUTE)
    flips = list(
        CheckTransition.objects.filter(owner=check)
        .order_by("at")
        .values_list("to_state", flat=True)
    )
    assert flips == ["up", "down", "up", "down", "up"]


@needs_db
def test_every_probe_is_kept_as_a_raw_result_but_inconclusive_ones_are_not():
    from checker.probes import Outcome
    from checker.services import checks_record_outcomes

    check = make_check()
    feed(check, UP, T0)
    feed(check, DOWN, T0 + MINUTE, error="HTTP 500")
    checks_record_outcomes([Outcome.unknown("rate limited", check_id=check.pk, at=T0 + 2 * MINUTE)])
    assert list(check.results.order_by("at").values_list("level", "error")) == [
        (0, ""),
        (2, "HTTP 500"),
    ]
    state = CheckState.objects.get(owner=check)
    assert state.last_error == "rate limited"
    assert [level for _, level in state.recent] == [0, 2]
