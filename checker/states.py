"""A check's state machine: observations in, a confirmed state and when it began out.

A check moves to a worse state only after `failure_threshold` consecutive observations at
least that bad, and back to a better one only after `success_threshold` consecutive
observations at least that good, so one blip never changes anything. A new check (state
unknown) is up at its first good observation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from checker.models import CheckStateName, Level

SEVERITY: dict[str, Level] = {
    CheckStateName.UNKNOWN: Level.UP,
    CheckStateName.UP: Level.UP,
    CheckStateName.DEGRADED: Level.DEGRADED,
    CheckStateName.DOWN: Level.DOWN,
}
STATE_FOR_LEVEL = {
    Level.UP: CheckStateName.UP,
    Level.DEGRADED: CheckStateName.DEGRADED,
    Level.DOWN: CheckStateName.DOWN,
}
BAD_STATES = (CheckStateName.DEGRADED, CheckStateName.DOWN)


@dataclass(frozen=True)
class Observation:
    at: dt.datetime
    level: int

    def to_json(self) -> list[float]:
        return [round(self.at.timestamp(), 3), self.level]

    @classmethod
    def from_json(cls, item: Sequence[float]) -> Observation:
        return cls(at=dt.datetime.fromtimestamp(item[0], tz=dt.UTC), level=int(item[1]))


@dataclass(frozen=True)
class Decision:
    state: str
    since: dt.datetime


def window_size(*, failure_threshold: int, success_threshold: int) -> int:
    """How many recent observations the thresholds need."""
    return max(failure_threshold, success_threshold)


def _trailing_run(recent: Sequence[Observation], *, low: int, high: int) -> list[Observation]:
    """The newest observations whose level lies between `low` and `high`, oldest first."""
    run: list[Observation] = []
    for observation in reversed(recent):
        if not low <= observation.level <= high:
            break
        run.append(observation)
    run.reverse()
    return run


def decide(
    *,
    state: str,
    recent: Sequence[Observation],
    failure_threshold: int,
    success_threshold: int,
) -> Decision | None:
    """The state `recent` (oldest first) confirms, or None when the state stays."""
    if not recent:
        return None
    current = SEVERITY[CheckStateName(state)]
    for level in (Level.DOWN, Level.DEGRADED):
        if level <= current:
            continue
        run = _trailing_run(recent, low=level, high=Level.DOWN)
        if len(run) >= failure_threshold:
            return Decision(state=STATE_FOR_LEVEL[level], since=run[0].at)
    if state == CheckStateName.UNKNOWN:
        if recent[-1].level == Level.UP:
            return Decision(state=CheckStateName.UP, since=recent[-1].at)
        return None
    for level in (Level.UP, Level.DEGRADED):
        if level >= current:
            break
        run = _trailing_run(recent, low=Level.UP, high=level)
        if len(run) >= success_threshold:
            return Decision(state=STATE_FOR_LEVEL[level], since=run[0].at)
    return None


def observe(
    *,
    recent: Sequence[Observation],
    observation: Observation,
    size: int,
    stale_after: dt.timedelta,
) -> list[Observation]:
    """`recent` with `observation` added, cut to `size`; a gap longer than `stale_after`
    (the check was paused) starts the window afresh."""
    kept = list(recent)
    if kept and observation.at - kept[-1].at > stale_after:
        kept = []
    kept.append(observation)
    return kept[-size:]
