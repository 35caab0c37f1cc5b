"""Inbound alerts: Alertmanager and Grafana payloads move components through alert rules, by the
checker's own automation, and bad requests are refused with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from checker import alerts
from checker.models import (
    AlertIntegration,
    AlertRule,
    AlertStatus,
    Check,
    CheckKind,
    CheckResult,
    IncidentMode,
    OutageStatus,
    ReceivedAlert,
)
from incidents.models import Incident, IncidentStatus
from statuspage.models import ChangeReason, ComponentStatusChange
from tests.checker.alerting import (
    am_alert,
    am_payload,
    as_json,
    make_integration,
    make_rule,
    recorded_payload,
)
from tests.factories import make_component, make_incident

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 4, 44, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
API_CRITICAL = {"alertname": "HighErrorRate", "service": "api", "severity": "critical"}
API_WARNING = {"alertname": "SlowRequests", "service": "api", "severity": "warning"}


@pytest.fixture(autouse=True)
def before_the_alerts():
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        yield


@pytest.fixture
def api():
    return make_component("API")


@pytest.fixture
def integration():
    return make_integration()


def post(body: bytes, *, token: str | None, at: dt.datetime, client: Client | None = None, **extra):
    path = f"/integrations/alerts/{token}" if token else "/integrations/alerts"
    with time_machine.travel(at, tick=False):
        return (client or Client()).post(path, body, content_type="application/json", **extra)


def status_of(component) -> str:
    component.refresh_from_db()
    return component.status


def test_a_firing_alert_sets_the_component_and_opens_an_incident(api, integration):
    hook, token = integration
    make_rule(hook, [api], matchers="service=api", status=OutageStatus.MAJOR_OUTAGE)

    response = post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + 2 * MINUTE
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"alerts": 1, "rules": 1, "components": 1}
    assert status_of(api) == "major_outage"
    incident = Incident.objects.get()
    assert incident.name == "Major outage of API"
    assert incident.started_at == T0
    assert not incident.is_draft
    (update,) = incident.updates.all()
    assert "Since 04:44 UTC" in update.body
    assert "monitoring raised an alert" in update.body
    # The sender's words stay with staff: its alert name is in the check's result, not the body.
    assert "HighErrorRate" not in update.body
    assert "HighErrorRate" in CheckResult.objects.get(level=2).error
    change = ComponentStatusChange.objects.filter(component=api).latest("changed_at")
    assert change.reason == ChangeReason.CHECKER


def test_a_resolved_alert_puts_the_component_back_and_resolves_the_incident(api, integration):
    hook, token = integration
    make_rule(hook, [api])
    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE)

    end = T0 + 20 * MINUTE
    response = post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0, ends_at=end))),
        token=token,
        at=end + MINUTE,
    )

    assert response.status_code == 200
    assert status_of(api) == "operational"
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at == end
    assert "From 04:44 to 05:04 UTC (20 minutes)" in incident.updates.latest("created_at").body
    assert ReceivedAlert.objects.get().status == AlertStatus.RESOLVED


def test_the_worst_firing_alert_wins_and_the_component_returns_only_when_all_resolve(
    api, integration
):
    hook, token = integration
    make_rule(hook, [api], matchers="severity=critical", status=OutageStatus.MAJOR_OUTAGE)
    make_rule(
        hook, [api], matchers="severity=warning", status=OutageStatus.PARTIAL_OUTAGE, name="warn"
    )
    body = am_payload(am_alert(API_WARNING, starts_at=T0), am_alert(API_CRITICAL, starts_at=T0))
    post(as_json(body), token=token, at=T0 + MINUTE)
    assert status_of(api) == "major_outage"

    post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0, ends_at=T0 + 5 * MINUTE))),
        token=token,
        at=T0 + 6 * MINUTE,
    )
    assert status_of(api) == "partial_outage"
    assert Incident.objects.get().is_open

    post(
        as_json(am_payload(am_alert(API_WARNING, starts_at=T0, ends_at=T0 + 9 * MINUTE))),
        token=token,
        at=T0 + 10 * MINUTE,
    )
    assert status_of(api) == "operational"
    assert not Incident.objects.get().is_open


def test_two_alerts_on_one_rule_keep_the_component_down_until_both_resolve(api, integration):
    hook, token = integration
    make_rule(hook, [api], matchers="service=api")
    first = {**API_CRITICAL, "instance": "api-1"}
    second = {**API_CRITICAL, "instance": "api-2"}
    post(
        as_json(am_payload(am_alert(first, starts_at=T0), am_alert(second, starts_at=T0))),
        token=token,
        at=T0 + MINUTE,
    )
    post(
        as_json(am_payload(am_alert(first, starts_at=T0, ends_at=T0 + 3 * MINUTE))),
        token=token,
        at=T0 + 4 * MINUTE,
    )
    assert status_of(api) == "major_outage"

    post(
        as_json(am_payload(am_alert(second, starts_at=T0, ends_at=T0 + 7 * MINUTE))),
        token=token,
        at=T0 + 8 * MINUTE,
    )
    assert status_of(api) == "operational"


def test_a_rule_moves_every_component_it_maps(integration):
    hook, token = integration
    eu, us = make_component("EU API"), make_component("US API")
    make_rule(hook, [eu, us], status=OutageStatus.PARTIAL_OUTAGE, mode=IncidentMode.STATUS_ONLY)

    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE)

    assert status_of(eu) == status_of(us) == "partial_outage"
    assert not Incident.objects.exists()


def test_an_alert_no_rule_matches_changes_nothing(api, integration):
    hook, token = integration
    make_rule(hook, [api], matchers="service=api\nseverity=~critical|page")
    response = post(
        as_json(am_payload(am_alert(API_WARNING, starts_at=T0))), token=token, at=T0 + MINUTE
    )
    assert response.json()["rules"] == 0
    assert status_of(api) == "operational"
    assert ReceivedAlert.objects.count() == 1


def test_grafana_payloads_drive_components(integration):
    hook, token = integration
    api, search = make_component("API"), make_component("Search")
    make_rule(hook, [api], matchers="service=api", name="API")
    make_rule(
        hook,
        [search],
        matchers='service="search"',
        status=OutageStatus.DEGRADED_PERFORMANCE,
        mode=IncidentMode.DRAFT,
        name="Search",
    )

    response = post(recorded_payload("grafana_firing.json"), token=token, at=T0 + 5 * MINUTE)

    assert response.status_code == 200, response.content
    assert response.json() == {"alerts": 2, "rules": 2, "components": 2}
    assert status_of(api) == "major_outage"
    opened = Incident.objects.order_by("name")
    assert [(i.name, i.is_draft) for i in opened] == [
        ("Degraded performance of Search", True),
        ("Major outage of API", False),
    ]
    assert "show degraded performance" in opened[0].updates.get().body

    post(recorded_payload("grafana_resolved.json"), token=token, at=T0 + 20 * MINUTE)

    assert status_of(api) == "operational"
    assert Incident.objects.get(name="Major outage of API").resolved_at == dt.datetime(
        2026, 3, 2, 5, 2, tzinfo=dt.UTC
    )
    assert Incident.objects.get(name="Degraded performance of Search").is_open


def test_alerts_never_override_staff(api, integration):
    hook, token = integration
    make_rule(hook, [api])
    with time_machine.travel(T0, tick=False):
        staff = make_incident(components={api: "partial_outage"})

    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE)

    assert status_of(api) == "partial_outage"
    assert list(Incident.objects.all()) == [staff]
    evidence = staff.updates.latest("created_at")
    assert evidence.body.startswith("Automated checks: since 04:44 UTC")
    assert not evidence.deliver_notifications


def test_a_firing_notification_retried_after_the_resolved_one_is_ignored(api, integration):
    hook, token = integration
    make_rule(hook, [api], mode=IncidentMode.STATUS_ONLY)
    firing = as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0, fingerprint="abc")))
    post(firing, token=token, at=T0 + MINUTE)
    resolved = am_alert(API_CRITICAL, starts_at=T0, ends_at=T0 + 2 * MINUTE, fingerprint="abc")
    post(as_json(am_payload(resolved)), token=token, at=T0 + 3 * MINUTE)

    post(firing, token=token, at=T0 + 4 * MINUTE)

    assert status_of(api) == "operational"
    refired = am_alert(API_CRITICAL, starts_at=T0 + 5 * MINUTE, fingerprint="abc")
    post(as_json(am_payload(refired)), token=token, at=T0 + 6 * MINUTE)
    assert status_of(api) == "major_outage"


def test_the_token_may_come_in_the_authorization_header(api, integration):
    hook, token = integration
    make_rule(hook, [api])
    response = post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))),
        token=None,
        at=T0 + MINUTE,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    assert status_of(api) == "major_outage"
    hook.refresh_from_db()
    assert hook.last_received_at == T0 + MINUTE


def test_only_a_digest_of_the_token_is_kept(integration):
    hook, token = integration
    stored = AlertIntegration.objects.values().get(pk=hook.pk)
    assert token not in str(stored)
    assert stored["token_hash"] == alerts.token_digest(token)
    assert token.startswith(stored["token_prefix"] + ".")


@pytest.mark.parametrize(
    ("path_token", "header", "status"),
    [
        (None, None, 401),
        ("nonsense", None, 403),
        ("PREFIX.wrong-secret", None, 403),
        (None, "Bearer PREFIX.wrong-secret", 403),
        (None, "Basic dXNlcjpwYXNz", 401),
    ],
)
def test_a_missing_or_wrong_token_is_refused(api, integration, path_token, header, status):
    hook, _ = integration
    make_rule(hook, [api])
    extra = {"HTTP_AUTHORIZATION": header.replace("PREFIX", hook.token_prefix)} if header else {}
    response = post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))),
        token=path_token.replace("PREFIX", hook.token_prefix) if path_token else None,
        at=T0 + MINUTE,
        **extra,
    )
    assert response.status_code == status
    assert "error" in response.json()
    assert not ReceivedAlert.objects.exists()
    assert status_of(api) == "operational"


def test_an_inactive_integration_is_refused(api, integration):
    hook, token = integration
    make_rule(hook, [api])
    AlertIntegration.objects.filter(pk=hook.pk).update(is_active=False)
    response = post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE
    )
    assert response.status_code == 403
    assert status_of(api) == "operational"


def test_a_new_token_retires_the_old_one(api, integration):
    hook, old = integration
    new = alerts.integration_issue_token(integration=hook)
    body = as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0)))
    assert post(body, token=old, at=T0 + MINUTE).status_code == 403
    assert post(body, token=new, at=T0 + MINUTE).status_code == 200


BAD_BODIES = [
    (b"{not json", 400),
    (b"\xff\xfe", 400),
    (b"[]", 422),
    (b'{"alerts": {}}', 422),
    (b'{"status": "firing"}', 422),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES)
def test_a_malformed_body_is_refused(api, integration, body, status):
    hook, token = integration
    make_rule(hook, [api])
    response = post(body, token=token, at=T0 + MINUTE)
    assert response.status_code == status
    assert response.json()["error"]


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "burning"},
        {"labels": {"service": 5}},
        {"labels": ["service=api"]},
        {"startsAt": "yesterday"},
        {"startsAt": "2026-03-02T04:44:00"},
        {"startsAt": None},
        {"endsAt": 12},
        {"fingerprint": ["x"]},
        {"annotations": "text"},
    ],
)
def test_one_bad_alert_refuses_the_whole_payload_with_nothing_written(api, integration, bad):
    hook, token = integration
    make_rule(hook, [api])
    good = am_alert(API_CRITICAL, starts_at=T0)
    broken = {**am_alert({**API_CRITICAL, "instance": "b"}, starts_at=T0), **bad}

    response = post(as_json(am_payload(good, broken)), token=token, at=T0 + MINUTE)

    assert response.status_code == 422
    assert "alerts[1]" in response.json()["error"]
    assert not ReceivedAlert.objects.exists()
    assert status_of(api) == "operational"
    assert not Incident.objects.exists()


def test_a_huge_body_is_refused_unread(api, integration):
    hook, token = integration
    make_rule(hook, [api])
    body = b'{"alerts": [], "padding": "' + b"x" * 1_100_000 + b'"}'
    response = post(body, token=token, at=T0 + MINUTE)
    assert response.status_code == 413
    assert hook.alerts.count() == 0


def test_too_many_alerts_are_refused(api, integration):
    hook, token = integration
    many = [am_alert({"n": str(n)}, starts_at=T0) for n in range(alerts.MAX_ALERTS + 1)]
    response = post(as_json(am_payload(*many)), token=token, at=T0 + MINUTE)
    assert response.status_code == 413
    assert not ReceivedAlert.objects.exists()


@pytest.mark.public_cache
@pytest.mark.parametrize("method", ["get", "put", "delete", "head"])
def test_other_methods_are_refused_and_never_cached(integration, method):
    _, token = integration
    response = getattr(Client(), method)(f"/integrations/alerts/{token}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.public_cache
def test_the_endpoint_needs_no_csrf_token_and_is_not_cached(api, integration):
    hook, token = integration
    make_rule(hook, [api])
    client = Client(enforce_csrf_checks=True)
    body = as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0)))
    response = post(body, token=token, at=T0 + MINUTE, client=client)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    again = post(body, token="nonsense", at=T0 + MINUTE, client=client)
    assert again.status_code == 403


def test_saving_a_rule_applies_it_to_alerts_already_firing(api, integration):
    hook, token = integration
    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE)
    assert status_of(api) == "operational"

    with time_machine.travel(T0 + 2 * MINUTE, tick=False):
        rule = make_rule(hook, [api], mode=IncidentMode.STATUS_ONLY)
    assert status_of(api) == "major_outage"

    other = make_component("Other")
    with time_machine.travel(T0 + 3 * MINUTE, tick=False):
        rule.components.set([other])
        alerts.alert_rule_sync(rule=rule)
    assert list(Check.objects.filter(alert_rule=rule).values_list("component", flat=True)) == [
        other.pk
    ]
    assert status_of(other) == "major_outage"


def test_alert_checks_are_never_probed(api, integration):
    from checker import scheduler

    hook, _ = integration
    make_rule(hook, [api])
    check = Check.objects.get(kind=CheckKind.ALERT)
    assert scheduler.claim_due(horizon=dt.timedelta(days=365), limit=100) == []
    from checker import services

    services.check_run_soon(check=check)
    assert scheduler.claim_due(horizon=dt.timedelta(days=365), limit=100) == []


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("service=api", {"service": "api"}, True),
        ("service=api", {"service": "api-2"}, False),
        ("service!=api", {}, True),
        ("env=~prod|staging\nteam!~db.*", {"env": "prod", "team": "web"}, True),
        ("env=~prod", {"env": "production"}, False),
        ('severity = "critical"', {"severity": "critical"}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_matchers_read_like_alertmanagers(text, labels, matches):
    assert alerts.rule_matches(alerts.parse_matchers(text), labels) is matches


@pytest.mark.parametrize("text", ["service", "1abc=x", "env=~(unclosed"])
def test_a_bad_matcher_is_named(text):
    with pytest.raises(ValueError, match="Line 1"):
        alerts.parse_matchers(text)


def test_an_outage_dates_from_the_alerts_start_even_when_the_rule_is_newer(api, integration):
    hook, token = integration
    with time_machine.travel(T0 + MINUTE, tick=False):
        make_rule(hook, [api])
    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + 2 * MINUTE)
    assert Incident.objects.get().started_at == T0


def test_a_new_outage_never_begins_before_the_last_recovery(api, integration):
    hook, token = integration
    make_rule(hook, [api], mode=IncidentMode.STATUS_ONLY)
    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE)
    end = T0 + 10 * MINUTE
    post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0, ends_at=end))),
        token=token,
        at=end,
    )
    # Another alert that began during the first outage only reaches us after the recovery.
    late = am_alert({**API_CRITICAL, "instance": "api-2"}, starts_at=T0 + 5 * MINUTE)
    post(as_json(am_payload(late)), token=token, at=end + 2 * MINUTE)

    assert status_of(api) == "major_outage"
    latest = ComponentStatusChange.objects.filter(component=api).latest("changed_at", "id")
    assert latest.changed_at == end


def test_a_firing_alert_acts_at_once_whatever_the_minimum_outage(api, integration, settings):
    settings.CHECKER_MIN_OUTAGE_SECONDS = 3600
    hook, token = integration
    make_rule(hook, [api])
    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE)
    assert status_of(api) == "major_outage"


def test_an_alert_firing_again_soon_reopens_the_same_incident(api, integration):
    hook, token = integration
    make_rule(hook, [api])
    post(as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE)
    end = T0 + 5 * MINUTE
    post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0, ends_at=end))), token=token, at=end
    )
    assert not Incident.objects.get().is_open

    again = am_alert(API_CRITICAL, starts_at=end + 2 * MINUTE)
    post(as_json(am_payload(again)), token=token, at=end + 3 * MINUTE)

    incident = Incident.objects.get()
    assert incident.is_open
    assert status_of(api) == "major_outage"


def test_resolved_alerts_are_forgotten_after_the_retention_and_firing_ones_kept(
    api, integration, settings
):
    settings.CHECKER_RESULT_RETENTION_DAYS = 7
    hook, token = integration
    make_rule(hook, [api], mode=IncidentMode.STATUS_ONLY)
    old_end = T0 + 5 * MINUTE
    post(
        as_json(
            am_payload(
                am_alert(API_CRITICAL, starts_at=T0, ends_at=old_end),
                am_alert(API_WARNING, starts_at=T0),
            )
        ),
        token=token,
        at=old_end,
    )

    assert alerts.alerts_prune(now=old_end + dt.timedelta(days=6)) == 0
    assert alerts.alerts_prune(now=old_end + dt.timedelta(days=8)) == 1
    assert list(ReceivedAlert.objects.values_list("status", flat=True)) == ["firing"]


def test_a_rule_whose_matchers_do_not_parse_matches_nothing(api, integration):
    hook, token = integration
    rule = make_rule(hook, [api])
    AlertRule.objects.filter(pk=rule.pk).update(matchers="env=~(prod")
    response = post(
        as_json(am_payload(am_alert(API_CRITICAL, starts_at=T0))), token=token, at=T0 + MINUTE
    )
    assert response.status_code == 200
    assert response.json()["rules"] == 0
    assert status_of(api) == "operational"
