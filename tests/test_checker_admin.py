"""Staff edit checks in the admin, with clear validation errors, and see where each stands."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from checker.models import Check, CheckState, HostBackoff
from tests.checker.factories import feed, make_check
from tests.factories import make_component

pytestmark = pytest.mark.django_db

ADD = "/admin/checker/check/add/"


def form(component, **overrides):
    data = {
        "component": component.pk,
        "name": "",
        "kind": "http",
        "is_active": "on",
        "url": "https://api.example.test/health",
        "method": "GET",
        "request_headers": "{}",
        "request_body": "",
        "expected_status_codes": "200-299",
        "body_contains": "",
        "json_conditions": "[]",
        "follow_redirects": "on",
        "tls_verify": "on",
        "degraded_latency_ms": "",
        "host": "",
        "port": "",
        "tls_days_left_threshold": "14",
        "upstream_url": "",
        "upstream_component": "",
        "interval_seconds": "60",
        "timeout_seconds": "10",
        "failure_threshold": "3",
        "success_threshold": "2",
        "outage_status": "major_outage",
        "incident_mode": "publish",
    }
    data.update(overrides)
    return data


def errors_of(response) -> dict[str, list[str]]:
    assert response.status_code == 200, "the form should have been shown again"
    adminform = response.context["adminform"].form
    return {field: list(messages) for field, messages in adminform.errors.items()}


def test_a_valid_check_is_saved_and_runs_at_once(admin_client):
    api = make_component()
    response = admin_client.post(ADD, form(api))
    assert response.status_code == 302
    check = Check.objects.get()
    assert check.component == api
    assert CheckState.objects.get(owner=check).next_run_at <= timezone.now()


def test_an_http_check_needs_a_web_address(admin_client):
    errors = errors_of(admin_client.post(ADD, form(make_component(), url="ftp://files")))
    assert errors["url"] == ["Enter an http:// or https:// address."]


def test_expected_codes_json_conditions_and_headers_are_explained(admin_client):
    errors = errors_of(
        admin_client.post(
            ADD,
            form(
                make_component(),
                expected_status_codes="2xx",
                json_conditions='[{"path": "status", "op": "~="}]',
                request_headers='["X-Key"]',
            ),
        )
    )
    assert errors["expected_status_codes"] == [
        "Use codes between 100 and 599 and ranges, separated by commas: 200-299,304."
    ]
    assert errors["json_conditions"] == ["Condition 1: unknown operator '~='."]
    assert errors["request_headers"] == ['Enter a JSON object of strings: {"Header": "value"}.']


def test_the_timeout_must_be_shorter_than_the_interval_and_intervals_not_too_short(admin_client):
    errors = errors_of(
        admin_client.post(ADD, form(make_component(), interval_seconds="5", timeout_seconds="30"))
    )
    assert errors["interval_seconds"] == ["Ensure this value is greater than or equal to 10."]
    errors = errors_of(
        admin_client.post(ADD, form(make_component(), interval_seconds="20", timeout_seconds="30"))
    )
    assert errors["timeout_seconds"] == ["The timeout must be shorter than the interval."]


def test_tcp_tls_and_upstream_checks_name_what_they_miss(admin_client):
    api = make_component()
    errors = errors_of(admin_client.post(ADD, form(api, kind="tls", url="")))
    assert errors["host"] == ["A TCP or TLS check needs a host."]
    assert errors["port"] == ["A TCP or TLS check needs a port (TLS is usually 443)."]
    errors = errors_of(admin_client.post(ADD, form(api, kind="upstream", url="")))
    assert errors["upstream_url"] == ["Enter the page's http:// or https:// address."]
    assert "upstream_component" in errors
    assert errors_of(admin_client.post(ADD, form(api, failure_threshold="0")))["failure_threshold"]


def test_the_change_page_shows_the_state_its_changes_and_the_chart(admin_client):
    check = make_check(name="the API")
    start = timezone.now() - dt.timedelta(minutes=10)
    for minute in range(4):
        feed(check, 0 if minute == 0 else 2, start + dt.timedelta(minutes=minute), error="HTTP 502")
    page = admin_client.get(f"/admin/checker/check/{check.pk}/change/").content.decode()
    assert "Where it stands" in page
    assert "Down since" in page
    assert "HTTP 502" in page
    assert "<svg" in page
    listing = admin_client.get("/admin/checker/check/").content.decode()
    assert "Down" in listing


def test_an_edit_of_what_is_probed_forgets_old_observations(admin_client):
    check = make_check(url="http://127.0.0.1:9/a")
    feed(check, 2, timezone.now())
    response = admin_client.post(
        f"/admin/checker/check/{check.pk}/change/",
        form(check.component, url="http://127.0.0.1:9/b"),
    )
    assert response.status_code == 302
    assert CheckState.objects.get(owner=check).recent == []


def test_pause_and_run_now_actions(admin_client):
    check = make_check()
    CheckState.objects.filter(owner=check).update(
        next_run_at=timezone.now() + dt.timedelta(hours=1)
    )
    changelist = "/admin/checker/check/"
    admin_client.post(changelist, {"action": "run_now", "_selected_action": [check.pk]})
    assert CheckState.objects.get(owner=check).next_run_at <= timezone.now()
    admin_client.post(changelist, {"action": "pause", "_selected_action": [check.pk]})
    check.refresh_from_db()
    assert not check.is_active


def test_the_admin_chart_is_for_staff_only(client, admin_client):
    check = make_check()
    url = f"/admin/checker/check/{check.pk}/response-time.svg"
    assert client.get(url).status_code == 302
    response = admin_client.get(url + "?range=7d")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")


def test_state_changes_are_listed_for_every_check(admin_client):
    check = make_check()
    feed(check, 0, timezone.now())
    page = admin_client.get("/admin/checker/checktransition/")
    assert page.status_code == 200
    assert "Unknown" in page.content.decode()


def test_every_checker_admin_page_renders(admin_client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    check = make_check()
    feed(check, 0, timezone.now())
    HostBackoff.objects.create(host="api.example.test", until=timezone.now(), reason="HTTP 429")
    for model, obj in [
        ("check", check),
        ("checktransition", check.transitions.get()),
        ("hostbackoff", HostBackoff.objects.get()),
    ]:
        base = f"/admin/checker/{model}/"
        assert admin_client.get(base).status_code == 200, model
        assert admin_client.get(f"{base}{obj.pk}/change/").status_code == 200, model
        assert admin_client.get(f"{base}{obj.pk}/history/").status_code == 200, model
    assert admin_client.get("/admin/checker/").status_code == 200
