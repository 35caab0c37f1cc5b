"""What the checker does to components and incidents, and the rule that keeps it out of staff's way.

It acts only through incidents.services and statuspage.services, with change_reason="checker",
so the history says who did it and subscribers hear of it like of any other update.

For each component, after its checks have been recorded:

1. While a scheduled maintenance runs on the component, the checker leaves it alone.
2. If the checker opened the component's open incident and staff have not taken it over, the
   checker manages it: it posts an update when the status its checks call for changes, and
   resolves it with the outage's window and duration when every check passes again.
3. Staff hold the component when an open incident the checker did not open affects it, when
   staff posted an update to the checker's incident (it is theirs from then on), or when the
   component's latest status change was made by hand and left it not operational. The checker
   then changes no status and resolves nothing: on each confirmed change of a check it posts
   its evidence to the open incident, if any, as an update with notifications off.
4. Otherwise, on a confirmed failure it opens an incident (public or draft, per check) that
   sets the component's status, or only sets the status when the check says so. On recovery
   it restores a status only if the checker set it.
5. If staff resolve an incident the checker opened while the check still fails, the checker
   does not reopen it until the check has recovered and failed again.
6. A component whose checks are all paused or deleted is left as it is, incident included.
7. Flap damping: a confirmed failure changes nothing (no incident, no status) until it has lasted
   CHECKER_MIN_OUTAGE_SECONDS from its first failed probe (an upstream page's status is mirrored
   at once: its provider decided it; a firing alert too: its alerting system has waited), and a
   failure that comes back within CHECKER_REOPEN_SECONDS of the checker resolving its incident
   reopens that incident (an update back to investigating) instead of opening another one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checker import messages
from checker.db import lock_rows
from checker.models import (
    AutomatedIncident,
    Check,
    CheckKind,
    CheckState,
    CheckStateName,
    CheckTransition,
    IncidentMode,
)
from incidents.models import Impact, Incident, IncidentComponent, IncidentStatus
from incidents.services import incident_open, incident_post_update, incident_resolve
from statuspage.models import ChangeReason, Component, ComponentStatus, ComponentStatusChange
from statuspage.rollup import COMPONENT_STATUS_RANK, worst_component_status
from statuspage.services import component_set_status

logger = logging.getLogger(__name__)

IMPACT_FOR_STATUS: dict[str, str] = {
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}
IMPACT_RANK: dict[str, int] = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}
QUIET = (ComponentStatus.OPERATIONAL, ComponentStatus.UNDER_MAINTENANCE)


@dataclass(frozen=True)
class Seen:
    """A confirmed change of one check, with the check and the public wording of the outcome
    that confirmed it, for the evidence it gives (the transition's reason is staff's detail)."""

    check: Check
    transition: CheckTransition
    public: str


def components_needing_attention(touched: Iterable[int]) -> list[int]:
    """Components whose checks changed, call for a status, or hold an incident of ours."""
    ids = set(touched)
    ids.update(
        CheckState.objects.filter(owner__is_active=True)
        .exclude(desired_status=ComponentStatus.OPERATIONAL)
        .values_list("owner__component_id", flat=True)
    )
    ids.update(
        AutomatedIncident.objects.filter(incident__in=Incident.objects.unresolved()).values_list(
            "component_id", flat=True
        )
    )
    return sorted(ids)


def components_reconcile(
    component_ids: Iterable[int], *, seen: Mapping[int, Sequence[Seen]] | None = None
) -> dict[int, str]:
    """Reconcile each component in its own transaction; one failure does not stop the rest."""
    seen = seen or {}
    done = {}
    for component_id in component_ids:
        try:
            done[component_id] = component_reconcile(
                component_id=component_id, seen=seen.get(component_id, ())
            )
        except Exception:
            logger.exception("could not reconcile component %s with its checks", component_id)
            done[component_id] = "failed"
    return done


@transaction.atomic
def component_reconcile(*, component_id: int, seen: Sequence[Seen] = ()) -> str:
    """Bring one component's status and incident in line with its checks (see the module's rule).

    Returns a word for what it did, for logs and tests.
    """
    lock_rows(Component.objects.filter(pk=component_id))
    component = Component.objects.get(pk=component_id)
    pairs = [
        (check, check.state)
        for check in Check.objects.active().filter(component=component).select_related("state")
        if hasattr(check, "state")
    ]
    if not pairs:
        # Its checks were paused or deleted: what they opened is left to staff.
        return "no active checks"
    desired = worst_component_status(state.desired_status for _, state in pairs)
    failing = [(c, s) for c, s in pairs if s.desired_status not in QUIET]

    if Incident.objects.maintenance_active().filter(affected__component=component).exists():
        return "maintenance"
    ours = AutomatedIncident.objects.filter(component=component).select_related("incident").first()
    ours_open = ours if ours is not None and ours.incident.is_open else None
    latest = (
        ComponentStatusChange.objects.filter(component=component)
        .order_by("-changed_at", "-id")
        .first()
    )
    changed_by_hand = latest is not None and latest.reason == ChangeReason.MANUAL
    if ours_open is not None:
        taken_over = (
            changed_by_hand or ours_open.incident.updates.count() > ours_open.updates_posted
        )
        if not taken_over:
            return _manage(component, ours_open, desired=desired, pairs=pairs, failing=failing)

    staff_incidents = Incident.objects.unresolved().filter(affected__component=component)
    if ours_open is not None:
        staff_incidents = staff_incidents.exclude(pk=ours_open.incident_id)
    staff_incident = staff_incidents.order_by("-started_at", "-id").first()
    if (
        ours_open is not None
        or staff_incident is not None
        or (changed_by_hand and component.status != ComponentStatus.OPERATIONAL)
    ):
        target = ours_open.incident if ours_open is not None else staff_incident
        if target is not None and seen:
            _post_evidence(target, seen, ours=ours_open)
        return "held by staff"
    return _act_alone(
        component, desired=desired, pairs=pairs, failing=failing, last_ours=ours, latest=latest
    )


def _recovered_at(pairs: Sequence[tuple[Check, CheckState]]) -> dt.datetime:
    times = [s.state_since for _, s in pairs if s.state == CheckStateName.UP and s.state_since]
    return max(times) if times else timezone.now()


def _failure_text(failing: Sequence[tuple[Check, CheckState]]) -> str:
    return "\n\n".join(messages.failure_sentence(check, state) for check, state in failing)


def _manage(
    component: Component,
    ours: AutomatedIncident,
    *,
    desired: str,
    pairs: Sequence[tuple[Check, CheckState]],
    failing: Sequence[tuple[Check, CheckState]],
) -> str:
    incident = ours.incident
    if desired in QUIET:
        end = max(_recovered_at(pairs), ours.problem_since)
        incident_resolve(
            incident=incident,
            body=messages.resolution(start=ours.problem_since, end=end, causes=[ours.cause]),
            resolved_at=end,
            change_reason=ChangeReason.CHECKER,
        )
        _count_update(ours)
        return "resolved"
    held = (
        IncidentComponent.objects.filter(incident=incident, component=component)
        .values_list("status", flat=True)
        .first()
    )
    if held == desired:
        return "unchanged"
    impact = IMPACT_FOR_STATUS[desired]
    incident_post_update(
        incident=incident,
        status=incident.status,
        body=_failure_text(failing),
        component_statuses={component: desired},
        impact=impact if IMPACT_RANK[impact] > IMPACT_RANK.get(incident.impact, 0) else None,
        change_reason=ChangeReason.CHECKER,
    )
    _count_update(ours)
    return "updated"


def _count_update(ours: AutomatedIncident, by: int = 1) -> None:
    AutomatedIncident.objects.filter(pk=ours.pk).update(updates_posted=ours.updates_posted + by)
    ours.updates_posted += by


def _post_evidence(
    incident: Incident, seen: Sequence[Seen], *, ours: AutomatedIncident | None
) -> None:
    lines = [
        messages.evidence(
            item.check, to_state=item.transition.to_state, at=item.transition.at, reason=item.public
        )
        for item in seen
        if item.transition.from_state != CheckStateName.UNKNOWN
        or item.transition.to_state != CheckStateName.UP
    ]
    if not lines:
        return
    incident_post_update(
        incident=incident,
        status=incident.status,
        body="\n\n".join(lines),
        deliver_notifications=False,
        change_reason=ChangeReason.CHECKER,
    )
    if ours is not None:
        _count_update(ours)


def _incident_mode(failing: Sequence[tuple[Check, CheckState]]) -> str:
    modes = {check.incident_mode for check, _ in failing}
    for mode in (IncidentMode.PUBLISH, IncidentMode.DRAFT):
        if mode in modes:
            return mode
    return IncidentMode.STATUS_ONLY


def _act_alone(
    component: Component,
    *,
    desired: str,
    pairs: Sequence[tuple[Check, CheckState]],
    failing: Sequence[tuple[Check, CheckState]],
    last_ours: AutomatedIncident | None,
    latest: ComponentStatusChange | None,
) -> str:
    set_by_checker = latest is not None and latest.reason == ChangeReason.CHECKER
    if desired in QUIET:
        if component.status != desired and (
            set_by_checker or component.status == ComponentStatus.OPERATIONAL
        ):
            component_set_status(
                component=component,
                status=desired,
                reason=ChangeReason.CHECKER,
                at=_recovered_at(pairs) if desired == ComponentStatus.OPERATIONAL else None,
                note="The upstream page reports maintenance."
                if desired == ComponentStatus.UNDER_MAINTENANCE
                else "Checks pass again.",
            )
            return "restored"
        return "ok"
    now = timezone.now()
    started = min(s.problem_since or s.state_since or now for _, s in failing)
    if (
        last_ours is not None
        and not last_ours.incident.is_open
        and last_ours.problem_since >= started
    ):
        return "closed by staff"
    if _too_short(failing, started=started, now=now):
        return "too short"
    if last_ours is not None and _reopens(last_ours, now=now):
        return _reopen(component, last_ours, desired=desired, failing=failing, started=started)
    mode = _incident_mode(failing)
    if mode == IncidentMode.STATUS_ONLY:
        if component.status == desired:
            return "unchanged"
        component_set_status(
            component=component,
            status=desired,
            reason=ChangeReason.CHECKER,
            at=started,
            note=_failure_text(failing)[:500],
        )
        return "status set"
    incident = incident_open(
        name=messages.incident_name(component, desired),
        impact=IMPACT_FOR_STATUS[desired],
        body=_failure_text(failing),
        component_statuses={component: desired},
        started_at=started,
        is_draft=mode == IncidentMode.DRAFT,
        change_reason=ChangeReason.CHECKER,
    )
    worst_first = sorted(failing, key=lambda pair: -COMPONENT_STATUS_RANK[pair[1].desired_status])
    AutomatedIncident.objects.create(
        incident=incident, component=component, problem_since=started, cause=_cause(worst_first)
    )
    return "opened"


def _cause(worst_first: Sequence[tuple[Check, CheckState]]) -> str:
    return "; ".join(messages.failure_cause(check, state) for check, state in worst_first)[:1000]


def _too_short(
    failing: Sequence[tuple[Check, CheckState]], *, started: dt.datetime, now: dt.datetime
) -> bool:
    """Flap damping: a failure that has not lasted CHECKER_MIN_OUTAGE_SECONDS changes nothing
    public yet. An upstream page's status is its provider's own decision, mirrored at once, and
    a firing alert its alerting system's, made after its own `for:` wait."""
    if any(check.kind in (CheckKind.UPSTREAM, CheckKind.ALERT) for check, _ in failing):
        return False
    return now - started < dt.timedelta(seconds=settings.CHECKER_MIN_OUTAGE_SECONDS)


def _reopens(ours: AutomatedIncident, *, now: dt.datetime) -> bool:
    """Whether a new failure reopens `ours`: the checker resolved it (staff posted nothing to it)
    less than CHECKER_REOPEN_SECONDS ago."""
    incident = ours.incident
    return (
        incident.status == IncidentStatus.RESOLVED
        and incident.resolved_at is not None
        and now - incident.resolved_at < dt.timedelta(seconds=settings.CHECKER_REOPEN_SECONDS)
        and incident.updates.count() == ours.updates_posted
    )


def _reopen(
    component: Component,
    ours: AutomatedIncident,
    *,
    desired: str,
    failing: Sequence[tuple[Check, CheckState]],
    started: dt.datetime,
) -> str:
    """The failure came back soon after the checker resolved its incident: the same incident
    takes the component again, with an update saying so, rather than a new incident."""
    incident = ours.incident
    assert incident.resolved_at is not None  # _reopens made sure of it
    impact = IMPACT_FOR_STATUS[desired]
    incident_post_update(
        incident=incident,
        status=IncidentStatus.INVESTIGATING,
        body=messages.recurrence(resolved_at=incident.resolved_at, failures=_failure_text(failing)),
        component_statuses={component: desired},
        display_at=started,
        impact=impact if IMPACT_RANK[impact] > IMPACT_RANK.get(incident.impact, 0) else None,
        change_reason=ChangeReason.CHECKER,
    )
    worst_first = sorted(failing, key=lambda pair: -COMPONENT_STATUS_RANK[pair[1].desired_status])
    ours.problem_since = started
    ours.cause = _cause(worst_first)
    ours.save(update_fields=["problem_since", "cause"])
    _count_update(ours)
    return "reopened"
