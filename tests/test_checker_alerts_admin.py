"""Staff set up alert integrations and rules in the admin: the token is shown once, rules are
checked and keep their alert checks in step, and those checks are not edited by hand."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from checker import alerts
from checker.models import AlertIntegration, AlertRule, Check, CheckKind
from tests.checker.alerting import make_integration, make_rule
from tests.factories import make_component

pytestmark = pytest.mark.django_db


def rule_form(integration, components, **overrides):
    data = {
        "integration": integration.pk,
        "name": "API errors",
        "matchers": "service=api\nseverity=~critical|page",
        "components": [c.pk for c in components],
        "outage_status": "partial_outage",
        "incident_mode": "draft",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def token_shown(response) -> str:
    (message,) = [
        str(m) for m in get_messages(response.wsgi_request) if "/integrations/alerts/" in str(m)
    ]
    return message


def test_a_new_integration_shows_its_token_once_and_keeps_only_a_digest(admin_client):
    response = admin_client.post(
        "/admin/checker/alertintegration/add/", {"name": "Prometheus", "is_active": "on"}
    )
    assert response.status_code == 302
    message = token_shown(response)
    token = re.findall(r"/integrations/alerts/([\w.-]+)", message)[0]
    integration = AlertIntegration.objects.get()
    assert alerts.integration_for_token(token) == integration
    assert "Authorization: Bearer" in message

    change = f"/admin/checker/alertintegration/{integration.pk}/change/"
    assert token in admin_client.get(change).content.decode()  # the one time it is shown
    page = admin_client.get(change)
    assert token not in page.content.decode()
    assert integration.token_prefix in page.content.decode()


def test_issuing_a_new_token_retires_the_old_one(admin_client):
    integration, old = make_integration()
    response = admin_client.post(
        "/admin/checker/alertintegration/",
        {"action": "issue_token", "_selected_action": [integration.pk]},
    )
    message = token_shown(response)
    new = re.findall(r"/integrations/alerts/([\w.-]+)", message)[0]
    assert alerts.integration_for_token(old) is None
    assert alerts.integration_for_token(new) == integration


def test_saving_a_rule_gives_each_component_an_alert_check(admin_client):
    integration, _ = make_integration()
    eu, us = make_component("EU API"), make_component("US API")
    response = admin_client.post("/admin/checker/alertrule/add/", rule_form(integration, [eu, us]))
    assert response.status_code == 302, response.content
    rule = AlertRule.objects.get()
    checks = Check.objects.filter(alert_rule=rule).order_by("component__name")
    assert [(c.component, c.kind, c.outage_status, c.incident_mode) for c in checks] == [
        (eu, CheckKind.ALERT, "partial_outage", "draft"),
        (us, CheckKind.ALERT, "partial_outage", "draft"),
    ]

    response = admin_client.post(
        f"/admin/checker/alertrule/{rule.pk}/change/",
        rule_form(integration, [us], outage_status="major_outage"),
    )
    assert response.status_code == 302
    assert list(
        Check.objects.filter(alert_rule=rule).values_list("component", "outage_status")
    ) == [(us.pk, "major_outage")]


def test_a_bad_matcher_is_explained(admin_client):
    integration, _ = make_integration()
    response = admin_client.post(
        "/admin/checker/alertrule/add/",
        rule_form(integration, [make_component()], matchers="service=api\nenv=~(prod"),
    )
    assert response.status_code == 200
    assert "Line 2: the regular expression is not valid" in response.content.decode()
    assert not AlertRule.objects.exists()


def test_alert_checks_are_shown_but_not_edited_by_hand(admin_client):
    integration, _ = make_integration()
    api = make_component("API")
    make_rule(integration, [api])
    check = Check.objects.get(kind=CheckKind.ALERT)

    page = admin_client.get(f"/admin/checker/check/{check.pk}/change/")
    assert page.status_code == 200
    assert 'name="url"' not in page.content.decode()
    response = admin_client.post(f"/admin/checker/check/{check.pk}/change/", {"name": "x"})
    assert response.status_code == 403
    assert admin_client.get("/admin/checker/check/").status_code == 200
    assert admin_client.get("/admin/checker/receivedalert/").status_code == 200
    assert admin_client.get("/admin/checker/alertrule/").status_code == 200
