"""The words the checker writes into incidents: plain sentences with times in UTC.

Incident bodies are public Markdown, mailed to subscribers, so they are made of our words only:
our check and component names, times, and the public wording of the probes' outcomes (status
codes and our own phrases). What a probed server said stays in the check's results for staff.
"""

from __future__ import annotations

import datetime as dt

from checker.models import Check, CheckKind, CheckState, CheckStateName
from statuspage.models import Component, ComponentStatus

STATUS_TITLES: dict[str, str] = {
    ComponentStatus.DEGRADED_PERFORMANCE: "Degraded performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
    ComponentStatus.MAJOR_OUTAGE: "Major outage",
    ComponentStatus.UNDER_MAINTENANCE: "Maintenance",
}


def clock(moment: dt.datetime, *, today: dt.date | None = None) -> str:
    """ "04:44 UTC", or "Mar 12, 04:44 UTC" when it is not today (UTC)."""
    moment = moment.astimezone(dt.UTC)
    today = today or dt.datetime.now(dt.UTC).date()
    if moment.date() == today:
        return f"{moment:%H:%M} UTC"
    return f"{moment:%b} {moment.day}, {moment:%H:%M} UTC"


def window(start: dt.datetime, end: dt.datetime) -> str:
    """ "From 04:44 to 04:47 UTC", naming the days when the window crosses midnight."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if start.date() == end.date():
        day = (
            "" if start.date() == dt.datetime.now(dt.UTC).date() else f" on {start:%b} {start.day}"
        )
        return f"From {start:%H:%M} to {end:%H:%M} UTC{day}"
    return f"From {start:%b} {start.day}, {start:%H:%M} to {end:%b} {end.day}, {end:%H:%M} UTC"


def _unit(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def duration(seconds: float) -> str:
    """ "3 minutes", "1 hour 5 minutes", "2 days 3 hours"; never less than a minute."""
    minutes = max(1, round(seconds / 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _unit(days, "day") + (f" {_unit(hours, 'hour')}" if hours else "")
    if hours:
        return _unit(hours, "hour") + (f" {_unit(minutes, 'minute')}" if minutes else "")
    return _unit(minutes, "minute")


def incident_name(component: Component, status: str) -> str:
    return f"{STATUS_TITLES.get(status, 'Outage')} of {component.name}"


def _subject(check: Check) -> str:
    return f"checks of {check.label}"


def _upstream_finding(check: Check, finding: str) -> str:
    """ "the upstream status page reports a partial outage for Payments" (the probe's words)."""
    return f"{finding or 'the upstream status page reports a problem'} for {check.label}"


def failure_sentence(check: Check, state: CheckState) -> str:
    """Present tense: "Since 04:44 UTC, checks of the API fail: connection timed out." """
    since = clock(state.problem_since or state.state_since or dt.datetime.now(dt.UTC))
    if check.kind == CheckKind.UPSTREAM:
        return f"Since {since}, {_upstream_finding(check, state.problem_error)}."
    error = state.problem_error or "no details"
    if state.state == CheckStateName.DEGRADED:
        return f"Since {since}, {_subject(check)} show degraded performance: {error}."
    return f"Since {since}, {_subject(check)} fail: {error}."


def failure_cause(check: Check, state: CheckState) -> str:
    """Past tense, for the resolving update: "checks of the API failed: connection timed out"."""
    if check.kind == CheckKind.UPSTREAM:
        return _upstream_finding(check, state.problem_error).replace(" reports ", " reported ", 1)
    error = state.problem_error or "no details"
    if state.state == CheckStateName.DEGRADED:
        return f"{_subject(check)} showed degraded performance: {error}"
    return f"{_subject(check)} failed: {error}"


def _seconds_window(start: dt.datetime, end: dt.datetime) -> str:
    """ "From 07:06:10 to 07:06:50 UTC", for a window the minutes alone cannot tell apart."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    day = "" if start.date() == dt.datetime.now(dt.UTC).date() else f" on {start:%b} {start.day}"
    if start.date() != end.date():
        first = f"{start:%b} {start.day}, {start:%H:%M:%S}"
        return f"From {first} to {end:%b} {end.day}, {end:%H:%M:%S} UTC"
    return f"From {start:%H:%M:%S} to {end:%H:%M:%S} UTC{day}"


def resolution(*, start: dt.datetime, end: dt.datetime, causes: list[str]) -> str:
    """ "From 04:44 to 04:47 UTC (3 minutes), checks of the API failed: …. They pass again."

    An outage shorter than a minute says so ("less than a minute"), and when both ends fall in
    the same minute the window gives the seconds, so it never reads "from 07:06 to 07:06".
    """
    what = "; ".join(causes) or "checks failed"
    lasted = (end - start).total_seconds()
    same_minute = start.replace(second=0, microsecond=0) == end.replace(second=0, microsecond=0)
    if lasted < 60 or same_minute:
        length = "less than a minute" if lasted < 60 else duration(lasted)
        return f"{_seconds_window(start, end)} ({length}), {what}. They pass again."
    # The duration of the minutes shown, so the sentence adds up.
    shown = end.replace(second=0, microsecond=0) - start.replace(second=0, microsecond=0)
    return f"{window(start, end)} ({duration(shown.total_seconds())}), {what}. They pass again."


def recurrence(*, resolved_at: dt.datetime, failures: str) -> str:
    """The update that reopens an incident the checker resolved a short while ago."""
    return f"The problem is back after the checks passed from {clock(resolved_at)}.\n\n{failures}"


def evidence(check: Check, *, to_state: str, at: dt.datetime, reason: str) -> str:
    """What the checker adds to an incident staff manage, on a confirmed change of a check
    (`reason` is the public wording of the outcome that confirmed it)."""
    if to_state == CheckStateName.UP:
        return f"Automated checks: {_subject(check)} pass again since {clock(at)}."
    if check.kind == CheckKind.UPSTREAM:
        return f"Automated checks: since {clock(at)}, {_upstream_finding(check, reason)}."
    verb = "show degraded performance" if to_state == CheckStateName.DEGRADED else "fail"
    return f"Automated checks: since {clock(at)}, {_subject(check)} {verb}: {reason}."
