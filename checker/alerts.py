"""Inbound alerts: Alertmanager's and Grafana's webhook payloads move components by alert rules.

An alert rule feeds the checker's state machine the way a check does. For each component it
maps, the rule owns a check of kind "alert" that is never probed; when a payload arrives, every
alert in it is recorded by its fingerprint, then each rule that an alert of the payload matches
is observed once: failing while any alert matching it fires, passing when none does (both
thresholds are 1: the alerting system has already waited its `for:`). From there the checker's
automation (checker/automation.py) acts exactly as for a probe, with its staff-hold rules, its
messages and its history: "several alerts firing on one component, the worst wins" is its
worst-status roll-up, and a component comes back only when every rule on it passes.

What an alert says (names, labels, annotations) is the sender's text: it stays with staff (the
checks' results and state changes). Incident messages get our own words only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checker import automation, services
from checker.db import lock_rows
from checker.models import (
    MAX_INTERVAL_SECONDS,
    AlertIntegration,
    AlertRule,
    AlertStatus,
    Check,
    CheckKind,
    CheckState,
    CheckStateName,
    Level,
    OutageStatus,
    ReceivedAlert,
)
from checker.probes import Outcome
from checker.states import BAD_STATES

logger = logging.getLogger(__name__)

# The most alerts one payload may carry (Alertmanager's `max_alerts` can cap a group's).
MAX_ALERTS = 1000
# An alert check is never probed: its next run lies beyond any horizon.
NEVER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
# Go's zero time, which Alertmanager and Grafana send as the end of a firing alert.
ZERO_TIME_YEAR = 1


# Tokens ------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def integration_issue_token(*, integration: AlertIntegration) -> str:
    """Give the integration a new token (the old one stops working) and return it: the only
    time it is seen, since only its prefix and digest are kept."""
    prefix = secrets.token_hex(6)
    token = f"{prefix}.{secrets.token_urlsafe(32)}"
    integration.token_prefix = prefix
    integration.token_hash = token_digest(token)
    if integration.pk is None:
        integration.save()
    else:
        integration.save(update_fields=["token_prefix", "token_hash"])
    return token


def integration_for_token(token: str) -> AlertIntegration | None:
    """The integration this token belongs to, or None; found by the token's public prefix,
    then its digest compared in constant time."""
    prefix, dot, secret = token.partition(".")
    if not dot or not secret or len(token) > 200:
        return None
    integration = AlertIntegration.objects.filter(token_prefix=prefix).first()
    if integration is None:
        return None
    if not hmac.compare_digest(integration.token_hash, token_digest(token)):
        return None
    return integration


# Matchers ----------------------------------------------------------------------------------

MATCHER_LINE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*")


@dataclass(frozen=True)
class Matcher:
    """One of Alertmanager's label matchers: `=`, `!=`, `=~` and `!~` (regexes match whole)."""

    label: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


def parse_matchers(text: str) -> list[Matcher]:
    """One matcher a line (blank lines skipped); raises ValueError naming the first bad line."""
    matchers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        found = MATCHER_LINE.fullmatch(line)
        if found is None:
            raise ValueError(f"Line {number}: write label=value, label!=value, label=~regex …")
        label, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(
                    f"Line {number}: the regular expression is not valid ({error})."
                ) from None
        matchers.append(Matcher(label=label, op=op, value=value))
    return matchers


def rule_matches(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(matcher.matches(labels) for matcher in matchers)


def rule_matchers(rule: AlertRule) -> list[Matcher] | None:
    """The rule's matchers, or None when they do not parse (a rule written outside the admin's
    form): such a rule matches nothing rather than failing every payload."""
    try:
        return parse_matchers(rule.matchers)
    except ValueError:
        logger.warning("alert rule %s has matchers that do not parse; it matches nothing", rule.pk)
        return None


# Payloads ----------------------------------------------------------------------------------


class PayloadError(ValueError):
    """A payload we refuse, with the HTTP status that says why (nothing of it was written)."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class IncomingAlert:
    fingerprint: str
    status: str
    labels: dict[str, str]
    starts_at: dt.datetime
    ends_at: dt.datetime | None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "") or self.fingerprint


def _timestamp(value: object, *, where: str, required: bool) -> dt.datetime | None:
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be an RFC 3339 time.")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{where} is not an RFC 3339 time: {value[:40]!r}.") from None
    if moment.tzinfo is None:
        raise PayloadError(f"{where} needs a time zone (Z or an offset).")
    if moment.year <= ZERO_TIME_YEAR:
        if required:
            raise PayloadError(f"{where} is the zero time.")
        return None
    return moment.astimezone(dt.UTC)


def _labels(value: object, *, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PayloadError(f"{where} must be an object of strings.")
    return value


def _alert(number: int, item: object) -> IncomingAlert:
    where = f"alerts[{number}]"
    if not isinstance(item, dict):
        raise PayloadError(f"{where} must be an object.")
    status = item.get("status")
    if status not in (AlertStatus.FIRING, AlertStatus.RESOLVED):
        raise PayloadError(f'{where}.status must be "firing" or "resolved".')
    labels = _labels(item.get("labels"), where=f"{where}.labels")
    _labels(item.get("annotations"), where=f"{where}.annotations")
    starts_at = _timestamp(item.get("startsAt"), where=f"{where}.startsAt", required=True)
    assert starts_at is not None  # required
    ends_at = _timestamp(item.get("endsAt"), where=f"{where}.endsAt", required=False)
    fingerprint = item.get("fingerprint")
    if fingerprint is not None and (not isinstance(fingerprint, str) or len(fingerprint) > 128):
        raise PayloadError(f"{where}.fingerprint must be a string of at most 128 characters.")
    if not fingerprint:
        # The same labels are the same alert, as Alertmanager fingerprints them.
        canonical = json.dumps(labels, sort_keys=True, separators=(",", ":"))
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return IncomingAlert(
        fingerprint=fingerprint,
        status=status,
        labels=labels,
        starts_at=starts_at,
        ends_at=ends_at if status == AlertStatus.RESOLVED else None,
    )


def parse_payload(body: bytes) -> list[IncomingAlert]:
    """The alerts of an Alertmanager (version 4) or Grafana webhook body, all or nothing.

    Both carry an `alerts` list whose items have `status`, `labels`, `annotations`,
    `startsAt`, `endsAt` and `fingerprint`; the group's own fields (`groupKey`,
    `commonLabels`, Grafana's `title`, `state`, `message`, `orgId` …) are not needed.
    """
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("The body is not valid JSON.", status=400) from None
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise PayloadError(
            "Expected a JSON object with an “alerts” list: Alertmanager's or Grafana's "
            "webhook payload."
        )
    if len(data["alerts"]) > MAX_ALERTS:
        raise PayloadError(f"At most {MAX_ALERTS} alerts a payload.", status=413)
    return [_alert(number, item) for number, item in enumerate(data["alerts"])]


# Receiving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """What one payload did, for the sender's answer and for tests."""

    alerts: int
    rules: int
    components: list[int]


def _is_stale(known: ReceivedAlert, alert: IncomingAlert) -> bool:
    """A notification about an earlier instance of the alert, or a firing one re-sent after
    we heard it resolve (notifications can be retried out of order)."""
    if alert.starts_at < known.starts_at:
        return True
    return (
        alert.status == AlertStatus.FIRING
        and known.status == AlertStatus.RESOLVED
        and alert.starts_at == known.starts_at
    )


def _record(
    integration: AlertIntegration, alerts: Sequence[IncomingAlert], now: dt.datetime
) -> None:
    latest = {alert.fingerprint: alert for alert in alerts}
    known = {
        row.fingerprint: row
        for row in ReceivedAlert.objects.filter(integration=integration, fingerprint__in=latest)
    }
    rows = [
        ReceivedAlert(
            integration=integration,
            fingerprint=fingerprint,
            status=alert.status,
            labels=alert.labels,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            received_at=now,
        )
        for fingerprint, alert in latest.items()
        if fingerprint not in known or not _is_stale(known[fingerprint], alert)
    ]
    # One statement per few hundred alerts: a big group costs what a small one does.
    ReceivedAlert.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["integration", "fingerprint"],
        update_fields=["status", "labels", "starts_at", "ends_at", "received_at"],
    )


def _count(number: int) -> str:
    return "an alert" if number == 1 else f"{number} alerts"


class Firing(NamedTuple):
    """What the rules need of a firing alert (read as plain rows: a big group stays cheap)."""

    fingerprint: str
    labels: dict[str, str]
    starts_at: dt.datetime


def _describe(alerts: Iterable[Firing]) -> str:
    """For staff: which alerts fire, with their labels."""
    parts = []
    for alert in alerts:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
        name = alert.labels.get("alertname") or alert.fingerprint
        parts.append(f"{name} ({labels})" if labels else name)
    return ("firing: " + "; ".join(parts))[:300]


def _rule_outcomes(
    rule: AlertRule,
    firing: Sequence[Firing],
    *,
    ended: Sequence[IncomingAlert],
    now: dt.datetime,
) -> list[Outcome]:
    """One observation for each check of the rule: failing while a matching alert fires."""
    matchers = rule_matchers(rule)
    if matchers is None:
        return []
    matched = [alert for alert in firing if rule_matches(matchers, alert.labels)]
    ends = [a.ends_at for a in ended if a.ends_at and rule_matches(matchers, a.labels)]
    outcomes = []
    for check in rule.checks.filter(is_active=True).select_related("state"):
        state: CheckState | None = getattr(check, "state", None)
        bad = state is not None and state.state in BAD_STATES
        if matched:
            at = now
            if not bad:
                # The outage began when the first alert did, but not before the last recovery.
                at = min(alert.starts_at for alert in matched)
                if state is not None and state.state_since is not None:
                    at = max(at, state.state_since)
            level = (
                Level.DEGRADED
                if rule.outage_status == OutageStatus.DEGRADED_PERFORMANCE
                else Level.DOWN
            )
            outcome = Outcome(
                level=level,
                public=f"monitoring raised {_count(len(matched))}",
                error=_describe(matched),
            )
        else:
            if state is None or state.state == CheckStateName.UNKNOWN:
                # Nothing has fired yet: no observation, so that the first alert's start is
                # when the outage began (a passing observation now would come after it).
                continue
            at = now
            if bad and ends:
                assert state is not None
                at = max(ends)
                if state.problem_since is not None:
                    at = max(at, state.problem_since)
            outcome = Outcome(level=Level.UP)
        outcomes.append(
            Outcome(
                level=outcome.level,
                public=outcome.public,
                error=outcome.error,
                check_id=check.pk,
                at=min(at, now),
            )
        )
    return outcomes


def _evaluate(
    integration: AlertIntegration,
    rules: Sequence[AlertRule],
    *,
    ended: Sequence[IncomingAlert],
    now: dt.datetime,
) -> services.Recorded:
    firing = [
        Firing(*row)
        for row in ReceivedAlert.objects.filter(
            integration=integration, status=AlertStatus.FIRING
        ).values_list("fingerprint", "labels", "starts_at")
    ]
    outcomes = [
        outcome for rule in rules for outcome in _rule_outcomes(rule, firing, ended=ended, now=now)
    ]
    return services.checks_record_outcomes(outcomes)


def _act_on(recorded: services.Recorded) -> None:
    """The checker's automation, for the components whose alert checks changed state. (The
    others are the checker's tick's business: a payload costs what its changes do.)"""
    touched = {t.owner.component_id for t in recorded.transitions} | recorded.redirected
    automation.components_reconcile(sorted(touched), seen=recorded.seen)


def alerts_receive(
    *,
    integration: AlertIntegration,
    alerts: Sequence[IncomingAlert],
    now: dt.datetime | None = None,
) -> Received:
    """Record a payload's alerts and observe the rules they match, in one transaction (one
    payload of an integration at a time); then the checker's automation acts on what changed."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_rows(AlertIntegration.objects.filter(pk=integration.pk))
        _record(integration, alerts, now)
        AlertIntegration.objects.filter(pk=integration.pk).update(last_received_at=now)
        rules = [
            rule
            for rule, matchers in (
                (rule, rule_matchers(rule)) for rule in integration.rules.filter(is_active=True)
            )
            if matchers is not None and any(rule_matches(matchers, a.labels) for a in alerts)
        ]
        recorded = _evaluate(
            integration, rules, ended=[a for a in alerts if a.ends_at is not None], now=now
        )
    _act_on(recorded)
    return Received(
        alerts=len(alerts),
        rules=len(rules),
        components=sorted(
            {
                component_id
                for rule in rules
                for component_id in rule.checks.values_list("component_id", flat=True)
            }
        ),
    )


# Keeping a rule's checks in step -----------------------------------------------------------


def alert_rule_sync(*, rule: AlertRule, now: dt.datetime | None = None) -> None:
    """After staff save a rule (or its integration): one alert check per mapped component,
    carrying the rule's status and incident mode; then the rule is observed against the alerts
    firing now, so a new mapping applies at once."""
    now = now or timezone.now()
    with transaction.atomic():
        # The integration's lock first, in the order a payload takes its locks.
        lock_rows(AlertIntegration.objects.filter(pk=rule.integration_id))
        wanted = set(rule.components.values_list("pk", flat=True))
        rule.checks.exclude(component_id__in=wanted).delete()
        existing = set(rule.checks.values_list("component_id", flat=True))
        fields = {
            "outage_status": rule.outage_status,
            "incident_mode": rule.incident_mode,
            "is_active": rule.is_active and rule.integration.is_active,
        }
        rule.checks.update(**fields)
        for component_id in sorted(wanted - existing):
            check = Check.objects.create(
                kind=CheckKind.ALERT,
                alert_rule=rule,
                component_id=component_id,
                interval_seconds=MAX_INTERVAL_SECONDS,
                failure_threshold=1,
                success_threshold=1,
                **fields,
            )
            CheckState.objects.create(owner=check, next_run_at=NEVER)
        recorded = _evaluate(rule.integration, [rule], ended=(), now=now)
    _act_on(recorded)


def alerts_prune(now: dt.datetime | None = None) -> int:
    """Forget resolved alerts heard of more than CHECKER_RESULT_RETENTION_DAYS ago (their
    effect stays in the checks' results and state changes); returns how many went."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.CHECKER_RESULT_RETENTION_DAYS)
    deleted, _ = ReceivedAlert.objects.filter(
        status=AlertStatus.RESOLVED, received_at__lt=cutoff
    ).delete()
    return deleted
